package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/openplatform/tenant-operator/internal/offline"
)

// renderCommand implements `manager render`: it prints every object the operator would
// create for the Tenant, ServicePlan and ApiProduct manifests in the files and directories
// given, for review before they are applied (for example in a GitOps pull request). Each
// tenant's objects start with a YAML comment naming the revision of each product it would
// run and the rollout wave that moves it.
func renderCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	gatewayAPI := fs.Bool("gateway-api", true, "Render HTTPRoutes for exposed products, as in a cluster with the Gateway API installed.")
	gatewayPolicies := fs.Bool("gateway-policies", true, "Render the gateway policies of products with exposure.policies EnvoyGateway, as in a cluster with the Envoy Gateway CRDs installed (false: such products get no route, as the operator fails closed).")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: manager render [--gateway-api=false] [--gateway-policies=false] FILE|DIR...\n\n"+
			"Prints, as YAML, every object the operator would create for the Tenants in the files,\n"+
			"using the ServicePlans and ApiProducts found beside them. API keys are generated in the\n"+
			"cluster and shown as placeholders.\n\n"+
			"A comment heads each tenant's objects: the revision (<product>-<version>-<hash>) of each\n"+
			"product that the specs give the tenant, and the rollout wave it moves in. Rendering knows\n"+
			"no cluster state: a rollout under way there may keep a tenant on the product's stable\n"+
			"revision (status.rollout.stableRevision) until its wave moves it.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	in, err := offline.ReadPaths(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "render: %v\n", err)
		return 1
	}
	if err := offline.Render(stdout, in, offline.Options{GatewayAPI: *gatewayAPI, GatewayPolicies: *gatewayPolicies}); err != nil {
		fmt.Fprintf(stderr, "render: %v\n", err)
		return 1
	}
	return 0
}
