// Package revision stores the content of product versions as ControllerRevisions: every
// distinct content of a version gets its own, named <product>-<version>-<hash>, in the
// operator's namespace. A tenant is rendered from the revision it is assigned, so a rollback
// never depends on the ApiProduct still holding the old content.
package revision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// hashLen is the number of hex digits of the content hash in a revision name.
const hashLen = 10

// maxName is the longest object name the API server takes for a ControllerRevision.
const maxName = 253

// content is what a revision holds: the version's name and components. Whether the
// version is deprecated, and its sunset, are not content: marking them moves nobody.
func content(v *tenancyv1alpha1.ProductVersion) []byte {
	c := tenancyv1alpha1.ProductVersion{Name: v.Name, Components: v.Components}
	b, err := json.Marshal(c)
	if err != nil {
		// A ProductVersion is plain data: encoding it cannot fail.
		panic(fmt.Sprintf("encoding product version %s: %v", v.Name, err))
	}
	return b
}

// Hash is the content hash of a version, as it appears in its revision's name.
func Hash(v *tenancyv1alpha1.ProductVersion) string {
	sum := sha256.Sum256(content(v))
	return hex.EncodeToString(sum[:])[:hashLen]
}

// Name is the name of the revision holding a version's current content:
// <product>-<version>-<hash>, with the version lowercased and '.' and '_' turned into '-'
// so that the name is a valid object name, and the prefix shortened when it is too long.
// The hash covers the version's own name, so two versions that read alike still differ.
func Name(product string, v *tenancyv1alpha1.ProductVersion) string {
	version := strings.Map(func(r rune) rune {
		if r == '.' || r == '_' {
			return '-'
		}
		return r
	}, strings.ToLower(v.Name))
	prefix := product + "-" + version
	if max := maxName - 1 - hashLen; len(prefix) > max {
		prefix = strings.TrimRight(prefix[:max], "-.")
	}
	return prefix + "-" + Hash(v)
}

// New is the ControllerRevision that holds a version's content, owned by the product so
// that deleting the product deletes its revisions. number orders the product's revisions.
func New(p *tenancyv1alpha1.ApiProduct, v *tenancyv1alpha1.ProductVersion, namespace string, number int64) *appsv1.ControllerRevision {
	controller := true
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:      Name(p.Name, v),
			Namespace: namespace,
			Labels: map[string]string{
				tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue,
				tenancyv1alpha1.LabelProduct:   p.Name,
				tenancyv1alpha1.LabelVersion:   v.Name,
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: tenancyv1alpha1.GroupVersion.String(), Kind: "ApiProduct",
				Name: p.Name, UID: p.UID, Controller: &controller,
			}},
		},
		Data:     runtime.RawExtension{Raw: content(v)},
		Revision: number,
	}
}

// Decode returns the version a revision holds. It checks that the content still hashes to
// the revision's name, so that a revision edited by hand is refused rather than run.
func Decode(cr *appsv1.ControllerRevision) (*tenancyv1alpha1.ProductVersion, error) {
	v := &tenancyv1alpha1.ProductVersion{}
	if err := json.Unmarshal(cr.Data.Raw, v); err != nil {
		return nil, fmt.Errorf("revision %s/%s does not hold a product version: %w", cr.Namespace, cr.Name, err)
	}
	if len(v.Components) == 0 {
		return nil, fmt.Errorf("revision %s/%s holds no components", cr.Namespace, cr.Name)
	}
	if h := Hash(v); !strings.HasSuffix(cr.Name, "-"+h) {
		return nil, fmt.Errorf("revision %s/%s was changed after it was made (its content hashes to %s): delete it, and the operator makes it again from the ApiProduct if the version still has that content", cr.Namespace, cr.Name, h)
	}
	return v, nil
}
