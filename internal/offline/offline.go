// Package offline renders, without a cluster, every object the operator would create for
// Tenant, ServicePlan and ApiProduct manifests: for review in a GitOps pull request. It uses
// the same render package as the controllers. Each tenant's objects are headed by a YAML
// comment that names the product revisions the tenant would run.
package offline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
	"github.com/openplatform/tenant-operator/internal/revision"
	"github.com/openplatform/tenant-operator/internal/rollout"
)

// Options tune the rendering.
type Options struct {
	// GatewayAPI says the cluster serves HTTPRoutes, so exposed products get one.
	GatewayAPI bool
	// GatewayPolicies says the CRDs of the products' gateway policies (Envoy Gateway's) are
	// installed; without them a product with exposure.policies EnvoyGateway gets no route.
	GatewayPolicies bool
}

// Input is the manifests read from files.
type Input struct {
	Plans    map[string]*tenancyv1alpha1.ServicePlan
	Products map[string]*tenancyv1alpha1.ApiProduct
	Tenants  []*tenancyv1alpha1.Tenant
}

// ReadPaths reads every YAML document of the files (and of the .yaml/.yml files in the
// directories) given. Documents of other kinds are skipped.
func ReadPaths(paths []string) (*Input, error) {
	in := &Input{Plans: map[string]*tenancyv1alpha1.ServicePlan{}, Products: map[string]*tenancyv1alpha1.ApiProduct{}}
	for _, p := range paths {
		files := []string{p}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			files = nil
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
		}
		for _, f := range files {
			if err := in.readFile(f); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(in.Tenants, func(i, j int) bool { return in.Tenants[i].Name < in.Tenants[j].Name })
	return in, nil
}

func (in *Input) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if head.APIVersion != tenancyv1alpha1.GroupVersion.String() {
			continue
		}
		switch head.Kind {
		case "ServicePlan":
			p := &tenancyv1alpha1.ServicePlan{}
			if err := yaml.UnmarshalStrict(doc, p); err != nil {
				return fmt.Errorf("%s: ServicePlan: %w", path, err)
			}
			in.Plans[p.Name] = p
		case "ApiProduct":
			p := &tenancyv1alpha1.ApiProduct{}
			if err := yaml.UnmarshalStrict(doc, p); err != nil {
				return fmt.Errorf("%s: ApiProduct: %w", path, err)
			}
			in.Products[p.Name] = p
		case "Tenant":
			t := &tenancyv1alpha1.Tenant{}
			if err := yaml.UnmarshalStrict(doc, t); err != nil {
				return fmt.Errorf("%s: Tenant: %w", path, err)
			}
			in.Tenants = append(in.Tenants, t)
		}
	}
}

// Render writes every object the operator would create for the input's tenants, as a YAML
// stream, tenant by tenant. Each tenant's first document starts with a comment (see
// revisionHeader) naming the revision of each product the tenant would run, so the stream
// stays valid for kubectl apply. A tenant that cannot be rendered (missing plan, product or
// version) is reported in the error, with the same reason its status would show; the other
// tenants are still rendered.
func Render(w io.Writer, in *Input, opts Options) error {
	var problems []string
	first := true
	uses := map[string]*sharedUse{}
	for _, t := range in.Tenants {
		objs, revs, err := tenantObjects(in, t, opts)
		if err != nil {
			problems = append(problems, fmt.Sprintf("tenant %s: %v", t.Name, err))
			continue
		}
		addSharedUses(uses, in, t)
		for i, o := range objs {
			b, err := yaml.Marshal(o)
			if err != nil {
				return err
			}
			if !first {
				fmt.Fprintln(w, "---")
			}
			first = false
			if i == 0 {
				if _, err := io.WriteString(w, revisionHeader(t, revs)); err != nil {
					return err
				}
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	if err := renderShared(w, uses, opts, first); err != nil {
		return err
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// sharedUse is what the input's tenants ask of a product's shared instances.
type sharedUse struct {
	product    *tenancyv1alpha1.ApiProduct
	versions   map[string]bool
	namespaces []string
	tenants    []string
	peers      map[string][]networkingv1.NetworkPolicyPeer
}

// addSharedUses adds the products a tenant gets with tenancy Shared.
func addSharedUses(uses map[string]*sharedUse, in *Input, t *tenancyv1alpha1.Tenant) {
	plan := in.Plans[t.Spec.Plan]
	resolved, rerr := render.ResolveProducts(t, plan, in.Products)
	if rerr != nil {
		return
	}
	for _, rp := range resolved {
		if rp.PlanEntry.Tenancy != tenancyv1alpha1.TenancyShared {
			continue
		}
		u := uses[rp.Product.Name]
		if u == nil {
			u = &sharedUse{product: rp.Product, versions: map[string]bool{}, peers: map[string][]networkingv1.NetworkPolicyPeer{}}
			uses[rp.Product.Name] = u
		}
		u.versions[rp.Version.Name] = true
		u.namespaces = append(u.namespaces, rp.Namespace)
		u.tenants = append(u.tenants, t.Name)
		u.peers[plan.Name] = plan.Spec.Network.AllowIngressFrom
	}
}

// renderShared writes the shared instances the input's tenants use, product by product,
// each headed by a comment naming its tenants.
func renderShared(w io.Writer, uses map[string]*sharedUse, opts Options, first bool) error {
	names := make([]string, 0, len(uses))
	for name := range uses {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		u := uses[name]
		in := render.SharedInput{Product: u.product, RouteNamespaces: u.namespaces, Grants: opts.GatewayAPI}
		var versions []string
		for i := range u.product.Spec.Versions {
			v := &u.product.Spec.Versions[i]
			if u.versions[v.Name] {
				in.Versions = append(in.Versions, render.SharedVersion{Version: v, Revision: revision.Name(u.product.Name, v)})
				versions = append(versions, v.Name)
			}
		}
		plans := make([]string, 0, len(u.peers))
		for plan := range u.peers {
			plans = append(plans, plan)
		}
		sort.Strings(plans)
		for _, plan := range plans {
			in.Peers = append(in.Peers, u.peers[plan]...)
		}
		docs, err := documents(append([]render.Object{render.SharedNamespaceObject(u.product)}, render.Shared(in)...))
		if err != nil {
			return err
		}
		for i, d := range docs {
			b, err := yaml.Marshal(d)
			if err != nil {
				return err
			}
			if !first {
				fmt.Fprintln(w, "---")
			}
			first = false
			if i == 0 {
				fmt.Fprintf(w, "# Shared instances of product %s in namespace %s, version %s, for tenants %s.\n",
					name, render.SharedNamespace(u.product), strings.Join(versions, ", "), strings.Join(u.tenants, ", "))
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// productRevision is the revision of one product a tenant would run, as the specs in the
// input give it.
type productRevision struct {
	// product and version are the product and the version the tenant resolves to.
	product, version string
	// revision names the ControllerRevision that holds the version's content in the cluster,
	// <product>-<version>-<hash>, as the product's Deployments are annotated.
	revision string
	// wave is the rollout wave the tenant moves in, "" when the product has no spec.rollout
	// (every tenant moves at once).
	wave string
	// deprecated: the version is deprecated, so the route's responses say so.
	deprecated bool
	// shared names the shared instance that serves the tenant, with tenancy Shared.
	shared string
}

// revisions are the revisions of the tenant's products, as the live specs in the input give
// them (revision.Name of the resolved version): what the tenant runs once every rollout is
// over. Offline there is no rollout state, so a rollout in the cluster may still hold the
// tenant on the product's stable revision.
func revisions(t *tenancyv1alpha1.Tenant, resolved []render.Resolved) []productRevision {
	out := make([]productRevision, 0, len(resolved))
	for _, rp := range resolved {
		r := productRevision{product: rp.Product.Name, version: rp.Version.Name, revision: rp.Revision}
		if rp.PlanEntry.Tenancy == tenancyv1alpha1.TenancyShared {
			r.shared = render.SharedNamespace(rp.Product) + "/" + render.SharedInstanceName(rp.Product.Name, rp.Version.Name)
		}
		for _, v := range rp.Product.Spec.Versions {
			if v.Name == rp.Version.Name {
				r.deprecated = v.Deprecated
			}
		}
		if ro := rp.Product.Spec.Rollout; ro != nil {
			waves := rollout.Waves(ro)
			r.wave = waves[rollout.Assign(waves, t.Labels, t.Spec.Plan)].Name
		}
		out = append(out, r)
	}
	return out
}

// revisionHeader is the YAML comment that heads a tenant's objects: the revision of each of
// its products and how it reaches the tenant (at once, or in which rollout wave).
func revisionHeader(t *tenancyv1alpha1.Tenant, revs []productRevision) string {
	var b strings.Builder
	if len(revs) == 0 {
		fmt.Fprintf(&b, "# Tenant %s (plan %s): no products.\n", t.Name, t.Spec.Plan)
		return b.String()
	}
	fmt.Fprintf(&b, "# Tenant %s (plan %s), product revisions from the specs in the input:\n", t.Name, t.Spec.Plan)
	waves, deprecated := false, false
	for _, r := range revs {
		how := "no spec.rollout: moves at once"
		switch {
		case r.shared != "":
			how = "served by the shared instance " + r.shared + ", rendered after the tenants"
		case r.wave != "":
			how, waves = "moves in rollout wave "+r.wave, true
		}
		dep := ""
		if r.deprecated {
			dep, deprecated = ", deprecated", true
		}
		fmt.Fprintf(&b, "#   %s %s%s: %s (%s)\n", r.product, r.version, dep, r.revision, how)
	}
	if deprecated {
		b.WriteString("# In the cluster a deprecated version's route also sets the response headers Deprecation:\n" +
			"# @<the time the operator first saw it deprecated> (status.versions[].deprecatedSince) and,\n" +
			"# with versions[].sunset, Sunset; offline that time is not known, so they are not shown.\n")
	}
	if waves {
		b.WriteString("# In the cluster, a rollout that is not over may keep the tenant on the product's stable\n" +
			"# revision (the ApiProduct's status.rollout.stableRevision) until its wave moves it.\n")
	}
	return b.String()
}

// credentialPlaceholder stands for a key the operator generates in the cluster; the real
// key is never known offline.
const credentialPlaceholder = "generated-by-the-operator"

func tenantObjects(in *Input, t *tenancyv1alpha1.Tenant, opts Options) ([]map[string]any, []productRevision, error) {
	plan := in.Plans[t.Spec.Plan]
	if plan == nil {
		return nil, nil, fmt.Errorf("%s: ServicePlan %q is not in the input", tenancyv1alpha1.ReasonPlanNotFound, t.Spec.Plan)
	}
	maxNS := plan.Spec.MaxNamespaces
	if maxNS < 1 {
		maxNS = 1
	}
	if n := len(t.DesiredNamespaces()); n > int(maxNS) {
		return nil, nil, fmt.Errorf("%s: %d namespaces, plan %s allows %d", tenancyv1alpha1.ReasonTooManyNamespaces, n, plan.Name, maxNS)
	}
	desired, err := render.Tenant(render.Input{Tenant: t, Plan: plan, Hostnames: render.Hostnames(t, plan, in.Products), GuardedServices: render.GuardedServices(t, plan, in.Products)})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", tenancyv1alpha1.ReasonInvalidQuota, err)
	}
	objects := append(append(append([]render.Object{}, desired.Namespaces...), desired.Namespaced...), desired.Cluster...)

	resolved, rerr := render.ResolveProducts(t, plan, in.Products)
	if rerr != nil {
		return nil, nil, fmt.Errorf("%s: %s", rerr.Reason, rerr.Message)
	}
	for _, rp := range resolved {
		if serr := render.SharedCheck(rp, plan.Name); serr != nil {
			return nil, nil, fmt.Errorf("%s: %s", serr.Reason, serr.Message)
		}
	}
	for _, rp := range resolved {
		pin := render.ProductInput{Tenant: t, Resolved: rp, Routes: opts.GatewayAPI, Policies: opts.GatewayPolicies}
		if rp.PlanEntry.Tenancy == tenancyv1alpha1.TenancyShared {
			// Served by the product's shared instance of its version (rendered after the
			// tenants), once any move to it is over.
			pin.SharedVersion, pin.NoInstance = rp.Version.Name, true
		}
		if render.UsesAPIKey(rp.Product) {
			pin.Credential = &render.Credential{Key: credentialPlaceholder,
				Rotation: t.Annotations[tenancyv1alpha1.AnnotationRotateCredentials]}
			pin.GatewayKeys = &render.GatewayKeys{Current: credentialPlaceholder}
		}
		objects = append(objects, render.Product(pin)...)
	}

	out, err := documents(objects)
	if err != nil {
		return nil, nil, err
	}
	return out, revisions(t, resolved), nil
}

// documents turns rendered objects into the documents printed: credentials stand as
// placeholders, as they are generated in the cluster.
func documents(objects []render.Object) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(objects))
	for _, o := range objects {
		b, err := json.Marshal(o.Apply)
		if err != nil {
			return nil, err
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		if o.Kind == render.KindDeployment {
			if ann, ok := nested(m, "spec", "template", "metadata", "annotations"); ok {
				if _, has := ann[render.AnnotationCredentialsHash]; has {
					ann[render.AnnotationCredentialsHash] = "<digest of the generated key>"
				}
			}
		}
		if o.Kind == render.KindSecret {
			// The key is generated in the cluster: show where it goes, not a value.
			placeholders := map[string]any{}
			if data, ok := m["data"].(map[string]any); ok {
				for k := range data {
					placeholders[k] = "<" + credentialPlaceholder + ">"
				}
			}
			m["stringData"] = placeholders
			delete(m, "data")
		}
		out = append(out, m)
	}
	return out, nil
}

// nested returns the map at the path of keys.
func nested(m map[string]any, keys ...string) (map[string]any, bool) {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	return m, true
}
