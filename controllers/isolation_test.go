package controllers

// Tenant isolation as a tenant owner experiences it: what alice, the owner of one tenant,
// can and cannot do with kubectl, and what the admission policies of config/policy keep even
// a cluster-admin (who is not in system:masters) from doing. The requests are made with
// impersonated users against the envtest API server, with the ValidatingAdmissionPolicies
// installed by the test itself.
//
// Two stand-ins for kube-controller-manager, which envtest does not run (see
// aggregateBuiltinRoles and simulateQuotaController): the built-in ClusterRoles admin, edit
// and view are aggregated (in envtest they exist with an aggregationRule and no rules, so a
// RoleBinding to admin grants nothing), and tenant-quota in iso-a gets the status the quota
// controller would give it (quota admission enforces only what status.hard lists, so
// without it the Pods of the Pod Security check would not be held to the quota at all).

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestTenantIsolation: tenant iso-a (owner alice, namespaces iso-a and iso-a-dev, plan with
// ownerRole admin, podSecurity restricted, quota, limitRange and egress Restricted) and
// tenant iso-b (owner bob), with the admission policies installed.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	const (
		planName = "iso-plan"
		tenantA  = "iso-a"
		tenantB  = "iso-b"
		nsA      = "iso-a"
		nsADev   = "iso-a-dev"
		nsB      = "iso-b"
		alice    = "alice@iso-a.example"
		bob      = "bob@iso-b.example"
		carol    = "carol" // cluster-admin through a ClusterRoleBinding, not in system:masters
		carolNS  = "iso-carol"
	)
	// Messages of the policies in config/policy.
	const (
		managedMsg = "is managed by the tenant-operator"
		labelMsg   = "the " + tenancyv1alpha1.LabelTenant + " label of namespace"
	)

	installPolicies(t)
	aggregateBuiltinRoles(t)

	mustCreate(t, &tenancyv1alpha1.ServicePlan{
		ObjectMeta: metav1.ObjectMeta{Name: planName},
		Spec: tenancyv1alpha1.ServicePlanSpec{
			MaxNamespaces: 2,
			Quota:         &tenancyv1alpha1.PlanQuota{Hard: rl("requests.cpu", "4", "requests.memory", "4Gi", "pods", "20")},
			LimitRange: &tenancyv1alpha1.PlanLimitRange{
				DefaultRequest: rl("cpu", "100m", "memory", "128Mi"),
				Default:        rl("cpu", "500m", "memory", "512Mi"),
				Max:            rl("cpu", "2", "memory", "2Gi"),
			},
			PodSecurity: tenancyv1alpha1.PodSecurityLevel("restricted"),
			OwnerRole:   tenancyv1alpha1.OwnerRoleAdmin,
			Network:     tenancyv1alpha1.PlanNetwork{Egress: tenancyv1alpha1.EgressRestricted},
		},
	})
	tenant := func(name, owner string, namespaces ...string) *tenancyv1alpha1.Tenant {
		tn := &tenancyv1alpha1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: tenancyv1alpha1.TenantSpec{
				Plan:   planName,
				Owners: []tenancyv1alpha1.Owner{{Kind: tenancyv1alpha1.OwnerUser, Name: owner}},
			},
		}
		for _, ns := range namespaces {
			tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenancyv1alpha1.TenantNamespace{Name: ns})
		}
		return tn
	}
	mustCreate(t, tenant(tenantA, alice, nsA, nsADev))
	mustCreate(t, tenant(tenantB, bob, nsB))
	// iso-b is deleted by the last check; envtest never finishes deleting its namespaces.
	t.Cleanup(func() { removeFinalizers(t, tenantB) })
	waitTenantReady(t, tenantA)
	waitTenantReady(t, tenantB)
	waitQuota(t, nsA, "requests.cpu", "2", "requests.memory", "2Gi", "pods", "10")
	simulateQuotaController(t, nsA)

	// carol: cluster-admin through a ClusterRoleBinding, so only the policies stop her.
	carolBinding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "iso-carol-cluster-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: carol}},
	}
	mustCreate(t, carolBinding)
	t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(testCtx, carolBinding)) })

	asAlice := impersonate(t, alice)
	asCarol := impersonate(t, carol)

	// The RBAC authorizer and the policies are fed by informers: wait until alice's
	// RoleBinding works and both policies deny what they are meant to (dry-run probes).
	eventually(t, 0, func() error {
		return asAlice.Create(testCtx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "iso-probe", Namespace: nsA}}, client.DryRunAll)
	})
	eventually(t, 0, func() error {
		err := asCarol.Delete(testCtx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "tenant-isolation", Namespace: nsA}}, client.DryRunAll)
		return wantForbidden(err, managedMsg)
	})
	eventually(t, 0, func() error {
		err := asCarol.Create(testCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: "iso-probe", Labels: map[string]string{tenancyv1alpha1.LabelTenant: tenantA},
		}}, client.DryRunAll)
		return wantForbidden(err, labelMsg)
	})

	t.Run("owner can create a restricted Deployment in her namespace", func(t *testing.T) {
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: nsA},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec:       restrictedPodSpec(),
				},
			},
		}
		if err := asAlice.Create(testCtx, d); err != nil {
			t.Fatalf("alice creating Deployment %s/web: %v, want it allowed", nsA, err)
		}
		// And change it: the policy leaves the tenant's own objects alone.
		d.Spec.Replicas = ptr.To(int32(2))
		if err := asAlice.Update(testCtx, d); err != nil {
			t.Errorf("alice updating her Deployment %s/web: %v, want it allowed", nsA, err)
		}
	})

	t.Run("owner cannot update or delete the managed objects", func(t *testing.T) {
		cases := []struct {
			name string
			obj  client.Object
			// msg: the policy's message parts; none where RBAC already forbids (the admin
			// role may only read ResourceQuotas and LimitRanges), so the policy is not asked.
			msg []string
		}{
			{"tenant-quota", &corev1.ResourceQuota{}, nil},
			{"tenant-limits", &corev1.LimitRange{}, nil},
			{"tenant-isolation", &networkingv1.NetworkPolicy{}, []string{managedMsg, "spec.network"}},
			{"tenant-egress", &networkingv1.NetworkPolicy{}, []string{managedMsg, "spec.network"}},
			{"tenant-owners", &rbacv1.RoleBinding{}, []string{managedMsg, "spec.owners"}},
		}
		for _, c := range cases {
			name := c.name
			if err := get(c.obj, nsA, name); err != nil {
				t.Errorf("reading %s/%s as admin: %v", nsA, name, err)
				continue
			}
			// Update: a harmless label, on the object as alice would have read it.
			o := c.obj.DeepCopyObject().(client.Object)
			l := o.GetLabels()
			if l == nil {
				l = map[string]string{}
			}
			l["iso-test/edited-by"] = "alice"
			o.SetLabels(l)
			if err := wantForbidden(asAlice.Update(testCtx, o), c.msg...); err != nil {
				t.Errorf("alice updating %T %s/%s: %v", o, nsA, name, err)
			}
			if err := wantForbidden(asAlice.Delete(testCtx, c.obj.DeepCopyObject().(client.Object)), c.msg...); err != nil {
				t.Errorf("alice deleting %T %s/%s: %v", c.obj, nsA, name, err)
			}
			// Still there and unchanged.
			fresh := c.obj.DeepCopyObject().(client.Object)
			if err := get(fresh, nsA, name); err != nil {
				t.Errorf("%s/%s after alice's attempts: %v", nsA, name, err)
			} else if _, edited := fresh.GetLabels()["iso-test/edited-by"]; edited || !fresh.GetDeletionTimestamp().IsZero() {
				t.Errorf("%s/%s was changed by alice: labels %v, deletionTimestamp %v", nsA, name, fresh.GetLabels(), fresh.GetDeletionTimestamp())
			}
		}
	})

	t.Run("owner cannot read or write another tenant's namespace", func(t *testing.T) {
		check := func(what string, err error) {
			t.Helper()
			if err := wantForbidden(err); err != nil {
				t.Errorf("alice %s in %s: %v", what, nsB, err)
			}
		}
		check("getting Secret tenant-secret", asAlice.Get(testCtx, client.ObjectKey{Namespace: nsB, Name: "tenant-secret"}, &corev1.Secret{}))
		check("listing Secrets", asAlice.List(testCtx, &corev1.SecretList{}, client.InNamespace(nsB)))
		check("creating a Secret", asAlice.Create(testCtx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "from-alice", Namespace: nsB},
			StringData: map[string]string{"k": "v"},
		}))
		check("getting ResourceQuota tenant-quota", asAlice.Get(testCtx, client.ObjectKey{Namespace: nsB, Name: "tenant-quota"}, &corev1.ResourceQuota{}))
		check("listing Pods", asAlice.List(testCtx, &corev1.PodList{}, client.InNamespace(nsB)))
		check("listing Deployments", asAlice.List(testCtx, &appsv1.DeploymentList{}, client.InNamespace(nsB)))
		check("creating a ConfigMap", asAlice.Create(testCtx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "from-alice", Namespace: nsB}}))
		check("creating a Deployment", asAlice.Create(testCtx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "from-alice", Namespace: nsB},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}, Spec: restrictedPodSpec()},
			},
		}))
		// And in every namespace at once.
		check("listing Secrets of all namespaces", asAlice.List(testCtx, &corev1.SecretList{}))
	})

	t.Run("owner cannot create cluster-scoped objects", func(t *testing.T) {
		if err := wantForbidden(asAlice.Create(testCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "iso-alice-own"}})); err != nil {
			t.Errorf("alice creating a Namespace: %v", err)
		}
		if err := wantForbidden(asAlice.Create(testCtx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "iso-alice-role"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}},
		})); err != nil {
			t.Errorf("alice creating a ClusterRole: %v", err)
		}
		if err := wantForbidden(asAlice.Create(testCtx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "iso-alice-binding"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: alice}},
		})); err != nil {
			t.Errorf("alice creating a ClusterRoleBinding: %v", err)
		}
	})

	t.Run("owner cannot escalate with a RoleBinding but can share roles she holds", func(t *testing.T) {
		binding := func(name, role string) *rbacv1.RoleBinding {
			return &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nsA},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "dave@iso-a.example"}},
			}
		}
		if err := wantForbidden(asAlice.Create(testCtx, binding("iso-escalate", "cluster-admin"))); err != nil {
			t.Errorf("alice binding ClusterRole cluster-admin in %s: %v", nsA, err)
		}
		if err := wantForbidden(asAlice.Create(testCtx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "iso-self-escalate", Namespace: nsA},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: alice}},
		})); err != nil {
			t.Errorf("alice binding ClusterRole cluster-admin to herself in %s: %v", nsA, err)
		}
		for _, role := range []string{"view", "edit"} {
			if err := asAlice.Create(testCtx, binding("iso-share-"+role, role)); err != nil {
				t.Errorf("alice binding ClusterRole %s to dave in %s: %v, want it allowed (admin holds every permission of %s)", role, nsA, err, role)
			}
		}
	})

	t.Run("namespaces cannot be moved to another tenant", func(t *testing.T) {
		relabel := func(c client.Client, name string) error {
			ns := &corev1.Namespace{}
			if err := get(ns, "", name); err != nil {
				return fmt.Errorf("reading namespace %s: %w", name, err)
			}
			patch := client.MergeFrom(ns.DeepCopy())
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels[tenancyv1alpha1.LabelTenant] = tenantB
			return c.Patch(testCtx, ns, patch)
		}
		// alice: RBAC (admin only reads its namespace) or the policy.
		if err := wantForbidden(relabel(asAlice, nsADev)); err != nil {
			t.Errorf("alice relabelling namespace %s into tenant %s: %v", nsADev, tenantB, err)
		}
		// carol, cluster-admin: only the policy stands in her way, and its message names the
		// label. (Both policies match this request; the API server reports the first policy
		// that denies, in an order that changes with every refresh of its policy cache.)
		if err := wantForbidden(relabel(asCarol, nsADev), "ValidatingAdmissionPolicy", tenancyv1alpha1.LabelTenant); err != nil {
			t.Errorf("carol (cluster-admin) relabelling namespace %s into tenant %s: %v", nsADev, tenantB, err)
		}
		// Any other edit of a tenant namespace is the managed-objects policy's, whose message
		// names the namespace as a cluster-scoped object ("Namespace iso-a-dev", not
		// "Namespace iso-a-dev/iso-a-dev").
		annotate := &corev1.Namespace{}
		if err := get(annotate, "", nsADev); err != nil {
			t.Fatalf("namespace %s: %v", nsADev, err)
		}
		annotatePatch := client.MergeFrom(annotate.DeepCopy())
		if annotate.Annotations == nil {
			annotate.Annotations = map[string]string{}
		}
		annotate.Annotations["iso-test/edited-by"] = "carol"
		if err := wantForbidden(asCarol.Patch(testCtx, annotate, annotatePatch),
			"Namespace "+nsADev+" "+managedMsg, "spec.namespaces"); err != nil {
			t.Errorf("carol (cluster-admin) annotating namespace %s: %v", nsADev, err)
		}
		ns := &corev1.Namespace{}
		if err := get(ns, "", nsADev); err != nil {
			t.Errorf("namespace %s: %v", nsADev, err)
		} else if got := ns.Labels[tenancyv1alpha1.LabelTenant]; got != tenantA {
			t.Errorf("namespace %s has %s=%s, want %s", nsADev, tenancyv1alpha1.LabelTenant, got, tenantA)
		}
		if err := wantForbidden(asCarol.Delete(testCtx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "tenant-isolation", Namespace: nsA}}),
			managedMsg, "spec.network"); err != nil {
			t.Errorf("carol (cluster-admin) deleting NetworkPolicy %s/tenant-isolation: %v", nsA, err)
		}
		if err := get(&networkingv1.NetworkPolicy{}, nsA, "tenant-isolation"); err != nil {
			t.Errorf("NetworkPolicy %s/tenant-isolation after carol's attempt: %v", nsA, err)
		}

		// What carol may still do: her own namespaces, and hand one over with the adopt
		// annotation; but not label it into a tenant herself.
		own := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: carolNS}}
		if err := asCarol.Create(testCtx, own); err != nil {
			t.Fatalf("carol creating her unlabelled namespace %s: %v, want it allowed", carolNS, err)
		}
		t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(testCtx, own)) })
		patch := client.MergeFrom(own.DeepCopy())
		own.Annotations = map[string]string{tenancyv1alpha1.AnnotationAdopt: "iso-nobody"}
		if err := asCarol.Patch(testCtx, own, patch); err != nil {
			t.Errorf("carol annotating namespace %s %s=iso-nobody: %v, want it allowed", carolNS, tenancyv1alpha1.AnnotationAdopt, err)
		}
		if err := wantForbidden(relabel(asCarol, carolNS), "ValidatingAdmissionPolicy", labelMsg); err != nil {
			t.Errorf("carol labelling her namespace %s into tenant %s: %v", carolNS, tenantB, err)
		}
		if err := wantForbidden(asCarol.Create(testCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: "iso-carol-labelled", Labels: map[string]string{tenancyv1alpha1.LabelTenant: tenantA},
		}}), "ValidatingAdmissionPolicy", labelMsg); err != nil {
			t.Errorf("carol creating a namespace labelled into tenant %s: %v", tenantA, err)
		}
	})

	t.Run("owner can read her own Tenant only", func(t *testing.T) {
		own := &tenancyv1alpha1.Tenant{}
		if err := asAlice.Get(testCtx, client.ObjectKey{Name: tenantA}, own); err != nil {
			t.Errorf("alice getting Tenant %s: %v, want it allowed (ClusterRole tenancy:%s:reader)", tenantA, err, tenantA)
		} else if wantCondition(own.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, "") != nil {
			t.Errorf("alice sees Tenant %s conditions %s, want Ready=True", tenantA, describeConditions(own.Status.Conditions))
		}
		if err := wantForbidden(asAlice.Get(testCtx, client.ObjectKey{Name: tenantB}, &tenancyv1alpha1.Tenant{})); err != nil {
			t.Errorf("alice getting Tenant %s: %v", tenantB, err)
		}
		// resourceNames rules never match a plain list (the request has no name), so listing
		// every Tenant is Forbidden. The API server takes the name of a list or watch from
		// a metadata.name field selector, so `kubectl get tenants --field-selector
		// metadata.name=iso-a` (and a watch of the own Tenant) is allowed.
		if err := wantForbidden(asAlice.List(testCtx, &tenancyv1alpha1.TenantList{})); err != nil {
			t.Errorf("alice listing all Tenants: %v", err)
		}
		list := &tenancyv1alpha1.TenantList{}
		if err := asAlice.List(testCtx, list, client.MatchingFields{"metadata.name": tenantA}); err != nil {
			t.Errorf("alice listing Tenants with field selector metadata.name=%s: %v, want it allowed", tenantA, err)
		} else if len(list.Items) != 1 || list.Items[0].Name != tenantA {
			t.Errorf("alice's list with field selector metadata.name=%s returned %d items, want only %s", tenantA, len(list.Items), tenantA)
		}
		if err := wantForbidden(asAlice.List(testCtx, &tenancyv1alpha1.TenantList{}, client.MatchingFields{"metadata.name": tenantB})); err != nil {
			t.Errorf("alice listing Tenants with field selector metadata.name=%s: %v", tenantB, err)
		}
	})

	t.Run("Pod Security restricted is enforced in the tenant namespace", func(t *testing.T) {
		privileged := restrictedPodSpec()
		privileged.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
		rootAllowed := restrictedPodSpec()
		rootAllowed.SecurityContext.RunAsNonRoot = nil
		rootAllowed.SecurityContext.RunAsUser = nil
		for name, spec := range map[string]corev1.PodSpec{"iso-privileged": privileged, "iso-maybe-root": rootAllowed} {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nsA}, Spec: spec}
			if err := wantForbidden(asAlice.Create(testCtx, pod), `violates PodSecurity "restricted`); err != nil {
				t.Errorf("alice creating Pod %s/%s: %v", nsA, name, err)
			}
		}
		good := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "iso-compliant", Namespace: nsA}, Spec: restrictedPodSpec()}
		if err := asAlice.Create(testCtx, good); err != nil {
			t.Errorf("alice creating a restricted-compliant Pod in %s: %v, want it allowed", nsA, err)
		} else if cpu := good.Spec.Containers[0].Resources.Requests.Cpu(); cpu.Cmp(resource.MustParse("100m")) != 0 {
			t.Errorf("Pod %s/iso-compliant requests cpu %s, want tenant-limits' default 100m", nsA, cpu)
		}
		// Quota admission counted it against tenant-quota.
		eventually(t, 0, func() error {
			rq := &corev1.ResourceQuota{}
			if err := get(rq, nsA, "tenant-quota"); err != nil {
				return err
			}
			if err := sameResources(rq.Status.Used, withFencedServices("requests.cpu", "100m", "requests.memory", "128Mi", "pods", "1")...); err != nil {
				return fmt.Errorf("tenant-quota status.used in %s: %w", nsA, err)
			}
			return nil
		})
	})

	t.Run("operator still works with the policies installed", func(t *testing.T) {
		mustUpdate(t, &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: planName}}, func(p *tenancyv1alpha1.ServicePlan) {
			p.Spec.Quota.Hard = rl("requests.cpu", "8", "requests.memory", "8Gi", "pods", "40")
		})
		waitQuota(t, nsA, "requests.cpu", "4", "requests.memory", "4Gi", "pods", "20")
		waitQuota(t, nsADev, "requests.cpu", "4", "requests.memory", "4Gi", "pods", "20")
		waitQuota(t, nsB, "requests.cpu", "8", "requests.memory", "8Gi", "pods", "40")
		waitTenantReady(t, tenantA)

		mustDelete(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenantB}})
		eventually(t, 0, func() error { return terminating(nsB) })
		reader := "tenancy:" + tenantB + ":reader"
		eventually(t, 0, func() error {
			if err := gone(&rbacv1.ClusterRole{}, "", reader); err != nil {
				return err
			}
			return gone(&rbacv1.ClusterRoleBinding{}, "", reader)
		})
	})
}

// ---------------------------------------------------------------------------------------
// Helpers of the isolation test.

// impersonate returns a client that acts as user (a member of system:authenticated only).
func impersonate(t *testing.T, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	c, err := client.New(cfg, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatalf("creating a client impersonating %s: %v", user, err)
	}
	return c
}

// wantForbidden returns nil when err is a Forbidden API error whose message contains every
// part.
func wantForbidden(err error, parts ...string) error {
	switch {
	case err == nil:
		return errors.New("allowed, want Forbidden")
	case !apierrors.IsForbidden(err):
		return fmt.Errorf("got %v (reason %s), want Forbidden", err, apierrors.ReasonForError(err))
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			return fmt.Errorf("Forbidden as wanted, but the message %q does not contain %q", err.Error(), p)
		}
	}
	return nil
}

// sharedSetup counts the tests that currently use a piece of cluster set-up
// (installPolicies, aggregateBuiltinRoles): the first one sets the cluster up, the last one
// to end undoes it, so that tests running in parallel can all ask for it.
type sharedSetup struct {
	sync.Mutex
	users int
	undo  []func(t *testing.T)
}

var sharedPolicies, sharedBuiltinRoles sharedSetup

// share runs setup when s has no users yet, and registers on t the release of s: the last
// test to end runs, in reverse order, every undo step setup passed to its argument (also
// those of a setup that failed half-way).
func (s *sharedSetup) share(t *testing.T, setup func(undo func(func(t *testing.T)))) {
	t.Helper()
	s.Lock()
	defer s.Unlock()
	s.users++
	t.Cleanup(func() {
		s.Lock()
		defer s.Unlock()
		if s.users--; s.users > 0 {
			return
		}
		for i := len(s.undo) - 1; i >= 0; i-- {
			s.undo[i](t)
		}
		s.undo = nil
	})
	if s.users == 1 {
		setup(func(f func(t *testing.T)) { s.undo = append(s.undo, f) })
	}
}

// installPolicies creates the admission policies (Validating and Mutating) and bindings of
// config/policy as `kubectl apply -k config/policy` would (the kustomization's namePrefix on
// every name and on the bindings' policyName) and deletes them when the last test that
// installed them ends.
func installPolicies(t *testing.T) {
	t.Helper()
	dir := filepath.Join("..", "config", "policy")
	var kustomization struct {
		NamePrefix string   `json:"namePrefix"`
		Resources  []string `json:"resources"`
	}
	f, err := os.Open(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	err = utilyaml.NewYAMLOrJSONDecoder(f, 4096).Decode(&kustomization)
	_ = f.Close()
	if err != nil || len(kustomization.Resources) == 0 {
		t.Fatalf("reading %s/kustomization.yaml: %v (resources %v)", dir, err, kustomization.Resources)
	}
	var objs []*unstructured.Unstructured
	for _, res := range kustomization.Resources {
		f, err := os.Open(filepath.Join(dir, res))
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				_ = f.Close()
				t.Fatalf("decoding %s: %v", res, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			u.SetName(kustomization.NamePrefix + u.GetName())
			if k := u.GetKind(); k == "ValidatingAdmissionPolicyBinding" || k == "MutatingAdmissionPolicyBinding" {
				policy, _, _ := unstructured.NestedString(u.Object, "spec", "policyName")
				if err := unstructured.SetNestedField(u.Object, kustomization.NamePrefix+policy, "spec", "policyName"); err != nil {
					t.Fatal(err)
				}
			}
			objs = append(objs, u)
		}
		_ = f.Close()
	}
	var kinds []string
	for _, u := range objs {
		kinds = append(kinds, u.GetKind()+"/"+u.GetName())
	}
	if !slices.Contains(kinds, "ValidatingAdmissionPolicyBinding/"+kustomization.NamePrefix+"managed-objects") ||
		!slices.Contains(kinds, "ValidatingAdmissionPolicyBinding/"+kustomization.NamePrefix+"namespace-tenant-label") {
		t.Fatalf("config/policy rendered %v, want the bindings managed-objects and namespace-tenant-label", kinds)
	}
	sharedPolicies.share(t, func(undo func(func(*testing.T))) {
		for _, u := range objs {
			mustCreate(t, u)
			undo(func(t *testing.T) {
				if err := client.IgnoreNotFound(k8s.Delete(testCtx, u)); err != nil {
					t.Errorf("deleting %s %s: %v", u.GetKind(), u.GetName(), err)
				}
			})
		}
	})
}

// aggregateBuiltinRoles does what kube-controller-manager's clusterrole-aggregation
// controller does for the built-in ClusterRoles view, edit and admin (in that order:
// view is aggregated into edit, edit into admin): their rules become the union of the
// rules of the ClusterRoles their aggregationRule selects. envtest runs no
// controller-manager, so there these roles have no rules. The rules are restored when the
// last test that asked for them ends.
func aggregateBuiltinRoles(t *testing.T) {
	t.Helper()
	sharedBuiltinRoles.share(t, func(undo func(func(*testing.T))) { aggregateBuiltinRolesNow(t, undo) })
}

// aggregateBuiltinRolesNow aggregates the roles, passing to undo what restores each one.
func aggregateBuiltinRolesNow(t *testing.T, undo func(func(*testing.T))) {
	t.Helper()
	for _, name := range []string{"view", "edit", "admin"} {
		role := &rbacv1.ClusterRole{}
		if err := get(role, "", name); err != nil {
			t.Fatalf("ClusterRole %s: %v", name, err)
		}
		if role.AggregationRule == nil || len(role.Rules) > 0 {
			continue // aggregated already (a real cluster)
		}
		all := &rbacv1.ClusterRoleList{}
		if err := k8s.List(testCtx, all); err != nil {
			t.Fatal(err)
		}
		var rules []rbacv1.PolicyRule
		for _, sel := range role.AggregationRule.ClusterRoleSelectors {
			s, err := metav1.LabelSelectorAsSelector(&sel)
			if err != nil {
				t.Fatal(err)
			}
			for _, cr := range all.Items {
				if cr.Name == name || !s.Matches(labels.Set(cr.Labels)) {
					continue
				}
				for _, r := range cr.Rules {
					if !slices.ContainsFunc(rules, func(have rbacv1.PolicyRule) bool { return equality.Semantic.DeepEqual(have, r) }) {
						rules = append(rules, r)
					}
				}
			}
		}
		mustUpdate(t, role, func(r *rbacv1.ClusterRole) { r.Rules = rules })
		t.Logf("ClusterRole %s had no rules (no clusterrole-aggregation controller): aggregated %d", name, len(rules))
		undo(func(t *testing.T) {
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				r := &rbacv1.ClusterRole{}
				if err := get(r, "", name); err != nil {
					return err
				}
				r.Rules = nil
				return k8s.Update(testCtx, r)
			})
			if err != nil {
				t.Errorf("restoring ClusterRole %s: %v", name, err)
			}
		})
	}
}

// simulateQuotaController gives tenant-quota in namespace the status kube-controller-
// manager's resourcequota controller would: status.hard = spec.hard, nothing used. Quota
// admission enforces only the resources in status.hard (and then keeps status.used itself),
// so without it a Pod would not be checked against the quota at all.
func simulateQuotaController(t *testing.T, namespace string) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		rq := &corev1.ResourceQuota{}
		if err := get(rq, namespace, "tenant-quota"); err != nil {
			return err
		}
		rq.Status.Hard = rq.Spec.Hard.DeepCopy()
		rq.Status.Used = corev1.ResourceList{}
		for name := range rq.Spec.Hard {
			rq.Status.Used[name] = resource.MustParse("0")
		}
		return k8s.Status().Update(testCtx, rq)
	})
	if err != nil {
		t.Fatalf("setting the status of tenant-quota in %s: %v", namespace, err)
	}
}

// restrictedPodSpec is a Pod that passes Pod Security restricted (no resources: the
// namespace's LimitRange fills them in).
func restrictedPodSpec() corev1.PodSpec {
	return corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      ptr.To(int64(10001)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:  "app",
			Image: "registry.example.com/app:1.0.0",
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
	}
}
