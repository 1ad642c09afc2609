package conditions

// The ServicePlan's Ready condition, computed from what the reconciler read. Pure: no API
// calls, so every reason has a table test (plan_test.go).

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// maxListedFindings caps how many components or limitRange problems a plan's Ready message
// lists; the rest are counted.
const maxListedFindings = 5

// PlanReady is a plan's Ready condition. products holds the ApiProducts the plan
// names that exist (a missing one is absent); tenants are the names of the tenants on the
// plan. In order of precedence:
//
//   - InUse: the plan is being deleted while tenants use it;
//   - ProductNotFound: a product the plan names does not exist;
//   - InvalidLimitRange: Kubernetes would refuse the plan's LimitRange tenant-limits;
//   - MissingResourceDefaults: the quota covers a compute resource that a component of one
//     of the plan's products does not set and the limitRange does not default, so quota
//     admission refuses every Pod of that component;
//   - Reconciled.
//
// MissingResourceDefaults checks every version of every product, not only the one the plan
// or the product picks by default: a tenant may pin any version, and its Pods would be
// refused the same way.
func PlanReady(plan *tenancyv1alpha1.ServicePlan, products map[string]*tenancyv1alpha1.ApiProduct,
	tenants []string, deleting bool) metav1.Condition {
	cond := metav1.Condition{Type: tenancyv1alpha1.ConditionReady, ObservedGeneration: plan.Generation}
	if deleting {
		cond.Status, cond.Reason = metav1.ConditionFalse, tenancyv1alpha1.ReasonInUse
		cond.Message = InUseMessage("ServicePlan", tenants)
		return cond
	}
	var missing []string
	for _, p := range plan.Spec.Products {
		if products[p.Name] == nil {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, tenancyv1alpha1.ReasonProductNotFound
		cond.Message = fmt.Sprintf("ApiProduct %s does not exist: create it or remove it from spec.products.",
			strings.Join(missing, ", "))
		return cond
	}
	if problems := limitRangeProblems(plan.Spec.LimitRange); len(problems) > 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, tenancyv1alpha1.ReasonInvalidLimitRange
		cond.Message = fmt.Sprintf("Kubernetes would refuse the LimitRange %s of this plan: %s. Fix spec.limitRange.",
			"tenant-limits", listFindings(problems))
		return cond
	}
	if findings := missingResourceDefaults(plan, products); len(findings) > 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, tenancyv1alpha1.ReasonMissingResourceDefaults
		cond.Message = fmt.Sprintf("Kubernetes' quota admission would refuse every Pod of these components "+
			"(\"must specify %s\"): %s.", findings[0].first, listFindings(describeMissing(findings)))
		return cond
	}
	cond.Status, cond.Reason = metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled
	cond.Message = fmt.Sprintf("The plan is in use by %d tenants.", len(tenants))
	return cond
}

// listFindings joins at most maxListedFindings findings and counts the rest.
func listFindings(findings []string) string {
	shown := findings
	if len(shown) > maxListedFindings {
		shown = shown[:maxListedFindings]
	}
	out := strings.Join(shown, "; ")
	if more := len(findings) - len(shown); more > 0 {
		out += fmt.Sprintf("; and %d more", more)
	}
	return out
}

// limitRangeProblems lists what makes Kubernetes refuse a LimitRange of type Container with
// these values, per resource: the checks of the API server's LimitRange validation, in its
// order (min ≤ defaultRequest ≤ default ≤ max, min ≤ max). The API server first defaults
// default from max and defaultRequest from default or min; comparing the values as written
// finds the same problems.
func limitRangeProblems(lr *tenancyv1alpha1.PlanLimitRange) []string {
	if lr == nil {
		return nil
	}
	names := map[corev1.ResourceName]bool{}
	for _, l := range []corev1.ResourceList{lr.Min, lr.DefaultRequest, lr.Default, lr.Max} {
		for name := range l {
			names[name] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for name := range names {
		sorted = append(sorted, string(name))
	}
	sort.Strings(sorted)

	var problems []string
	for _, n := range sorted {
		name := corev1.ResourceName(n)
		type field struct {
			path string
			q    resource.Quantity
			ok   bool
		}
		get := func(path string, l corev1.ResourceList) field {
			q, ok := l[name]
			return field{path: "spec.limitRange." + path + "." + n, q: q, ok: ok}
		}
		lower := func(a, b field) {
			if a.ok && b.ok && a.q.Cmp(b.q) > 0 {
				problems = append(problems, fmt.Sprintf("%s (%s) is above %s (%s)", a.path, a.q.String(), b.path, b.q.String()))
			}
		}
		minF, maxF := get("min", lr.Min), get("max", lr.Max)
		defF, reqF := get("default", lr.Default), get("defaultRequest", lr.DefaultRequest)
		lower(minF, maxF)
		lower(minF, reqF)
		lower(reqF, maxF)
		lower(reqF, defF)
		lower(minF, defF)
		lower(defF, maxF)
	}
	return problems
}

// quotaNeed is what a quota key makes every container set: a request or a limit of a
// compute resource. Quota admission requires exactly these six keys to be set on every
// container (the bare cpu and memory keys count requests).
type quotaNeed struct {
	resource corev1.ResourceName
	limit    bool
}

var quotaNeeds = map[corev1.ResourceName]quotaNeed{
	corev1.ResourceCPU:            {corev1.ResourceCPU, false},
	corev1.ResourceMemory:         {corev1.ResourceMemory, false},
	corev1.ResourceRequestsCPU:    {corev1.ResourceCPU, false},
	corev1.ResourceRequestsMemory: {corev1.ResourceMemory, false},
	corev1.ResourceLimitsCPU:      {corev1.ResourceCPU, true},
	corev1.ResourceLimitsMemory:   {corev1.ResourceMemory, true},
}

// missingDefault is a component whose Pods quota admission refuses: the quota keys it
// does not satisfy.
type missingDefault struct {
	product, version, component string
	// override is true when the plan entry's resources replace the component's.
	override bool
	keys     []corev1.ResourceName
	// first is the first key, as quota admission names it ("must specify requests.cpu").
	first corev1.ResourceName
}

// missingResourceDefaults finds, for every version of every product the plan names, the
// components whose containers would lack a request or limit that the plan's quota covers.
// A container has what it sets in its resources (the plan entry's resources, when set,
// replace the component's, as rendering does), a request copied from its limit (Pod
// defaulting), and what the plan's LimitRange fills in: a limit from default, else max; a
// request from defaultRequest, else default, else max, else min (LimitRange defaulting).
func missingResourceDefaults(plan *tenancyv1alpha1.ServicePlan, products map[string]*tenancyv1alpha1.ApiProduct) []missingDefault {
	if plan.Spec.Quota == nil || len(plan.Spec.Quota.Hard) == 0 {
		return nil
	}
	var keys []corev1.ResourceName
	for key := range plan.Spec.Quota.Hard {
		if _, ok := quotaNeeds[key]; ok {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })

	lr := plan.Spec.LimitRange
	if lr == nil {
		lr = &tenancyv1alpha1.PlanLimitRange{}
	}
	has := func(l corev1.ResourceList, name corev1.ResourceName) bool {
		_, ok := l[name]
		return ok
	}
	var out []missingDefault
	for _, entry := range plan.Spec.Products {
		product := products[entry.Name]
		if product == nil {
			continue
		}
		for _, v := range product.Spec.Versions {
			for _, c := range v.Components {
				res, override := entry.Resources, entry.Resources != nil
				if res == nil {
					res = c.Resources
				}
				if res == nil {
					res = &tenancyv1alpha1.ComputeResources{}
				}
				m := missingDefault{product: entry.Name, version: v.Name, component: c.Name, override: override}
				for _, key := range keys {
					need := quotaNeeds[key]
					r := need.resource
					var set bool
					if need.limit {
						set = has(res.Limits, r) || has(lr.Default, r) || has(lr.Max, r)
					} else {
						set = has(res.Requests, r) || has(res.Limits, r) ||
							has(lr.DefaultRequest, r) || has(lr.Default, r) || has(lr.Max, r) || has(lr.Min, r)
					}
					if !set {
						m.keys = append(m.keys, key)
					}
				}
				if len(m.keys) > 0 {
					m.first = m.keys[0]
					out = append(out, m)
				}
			}
		}
	}
	return out
}

// describeMissing says, for each component, which quota keys it fails and what to set.
func describeMissing(findings []missingDefault) []string {
	out := make([]string, 0, len(findings))
	for _, m := range findings {
		var lacks, planFields, resFields []string
		seen := map[string]bool{}
		for _, key := range m.keys {
			need := quotaNeeds[key]
			r := string(need.resource)
			kind, resField, planField := "request", "requests."+r, "spec.limitRange.defaultRequest."+r+" (or default."+r+")"
			if need.limit {
				kind, resField, planField = "limit", "limits."+r, "spec.limitRange.default."+r
			}
			lacks = append(lacks, fmt.Sprintf("no %s %s (quota.hard %s)", r, kind, key))
			if !seen[resField] {
				seen[resField] = true
				planFields = append(planFields, planField)
				resFields = append(resFields, resField)
			}
		}
		who := fmt.Sprintf("ApiProduct %s version %s component %s", m.product, m.version, m.component)
		where := "in the component's resources, or in the plan's spec.products[" + m.product + "].resources"
		if m.override {
			who += " (with the plan's spec.products[" + m.product + "].resources, which replace the component's)"
			where = "in the plan's spec.products[" + m.product + "].resources"
		}
		out = append(out, fmt.Sprintf("%s sets %s: set %s on the plan, or %s %s",
			who, strings.Join(lacks, " and "), strings.Join(planFields, " and "), strings.Join(resFields, " and "), where))
	}
	return out
}

// InUseMessage says which tenants hold an object that is being deleted.
func InUseMessage(kind string, names []string) string {
	shown := names
	if len(shown) > 10 {
		shown = shown[:10]
	}
	more := ""
	if len(names) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(names)-len(shown))
	}
	return fmt.Sprintf("The %s is being deleted but tenants %s%s still use it: move them off it, and deletion completes.",
		kind, strings.Join(shown, ", "), more)
}

// SetPlanPrivileged warns, with PrivilegedPods=True, that a plan with podSecurity
// privileged lets owners run privileged Pods: root on the node, and through the node every
// other tenant's Pods and Secrets on it. The plan still works (Ready is not affected); the
// condition is removed once the plan is restricted or baseline.
func SetPlanPrivileged(plan *tenancyv1alpha1.ServicePlan) {
	if plan.Spec.PodSecurity != tenancyv1alpha1.PodSecurityPrivileged {
		meta.RemoveStatusCondition(&plan.Status.Conditions, tenancyv1alpha1.ConditionPrivilegedPods)
		return
	}
	meta.SetStatusCondition(&plan.Status.Conditions, metav1.Condition{
		Type: tenancyv1alpha1.ConditionPrivilegedPods, Status: metav1.ConditionTrue,
		Reason: tenancyv1alpha1.ReasonPrivilegedPods, ObservedGeneration: plan.Generation,
		Message: "podSecurity is privileged: tenant owners can run privileged Pods, which are root on their node " +
			"and reach every other tenant's Pods and Secrets there. Use restricted or baseline, or give such tenants nodes of their own.",
	})
}
