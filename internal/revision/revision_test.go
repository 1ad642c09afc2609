package revision

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

func port(p int32) *int32 { return &p }

// version is a version with every field of a component set.
func version() *tenancyv1alpha1.ProductVersion {
	return &tenancyv1alpha1.ProductVersion{
		Name: "v1",
		Components: []tenancyv1alpha1.Component{
			{
				Name: "api", Image: "registry.example.com/payments-api:1.8.0", Args: []string{"--serve", "--log=json"},
				Port: port(8080), HealthPath: "/healthz",
				Env: []tenancyv1alpha1.EnvVar{{Name: "MODE", Value: "live"}},
				Resources: &tenancyv1alpha1.ComputeResources{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
			},
			{Name: "worker", Image: "registry.example.com/payments-worker:1.8.0"},
		},
	}
}

func product(name string) *tenancyv1alpha1.ApiProduct {
	return &tenancyv1alpha1.ApiProduct{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("0b5c6c1e-uid")}}
}

var hash = regexp.MustCompile(`-[0-9a-f]{10}$`)

func TestNameIsStable(t *testing.T) {
	a, b := Name("payments", version()), Name("payments", version())
	if a != b {
		t.Fatalf("Name differs between calls: %s, %s", a, b)
	}
	if !regexp.MustCompile(`^payments-v1-[0-9a-f]{10}$`).MatchString(a) {
		t.Errorf("Name = %s, want payments-v1-<10 hex digits>", a)
	}
	if h := Hash(version()); !strings.HasSuffix(a, "-"+h) || len(h) != 10 {
		t.Errorf("Name %s does not end in the hash %s", a, h)
	}
	// A golden value: an operator upgrade that changed how content is hashed would give
	// every version a new revision, and move every tenant through a rollout of nothing.
	if got, want := Hash(version()), goldenHash; got != want {
		t.Errorf("Hash() = %s, was %s: revision names changed for unchanged content", got, want)
	}
}

// goldenHash is the hash of version() when the test was written.
const goldenHash = "0f1b44b33c"

func TestNameChangesWithContent(t *testing.T) {
	base := Name("payments", version())
	cases := map[string]func(*tenancyv1alpha1.ProductVersion){
		"image": func(v *tenancyv1alpha1.ProductVersion) {
			v.Components[0].Image = "registry.example.com/payments-api:1.8.1"
		},
		"args": func(v *tenancyv1alpha1.ProductVersion) {
			v.Components[0].Args = append(v.Components[0].Args, "--debug")
		},
		"args order":   func(v *tenancyv1alpha1.ProductVersion) { v.Components[0].Args = []string{"--log=json", "--serve"} },
		"no args":      func(v *tenancyv1alpha1.ProductVersion) { v.Components[0].Args = nil },
		"port":         func(v *tenancyv1alpha1.ProductVersion) { v.Components[0].Port = port(9090) },
		"port removed": func(v *tenancyv1alpha1.ProductVersion) { v.Components[0].Port = nil },
		"port added":   func(v *tenancyv1alpha1.ProductVersion) { v.Components[1].Port = port(8080) },
		"healthPath":   func(v *tenancyv1alpha1.ProductVersion) { v.Components[0].HealthPath = "/ready" },
		"env value":    func(v *tenancyv1alpha1.ProductVersion) { v.Components[0].Env[0].Value = "test" },
		"env name":     func(v *tenancyv1alpha1.ProductVersion) { v.Components[0].Env[0].Name = "MODE2" },
		"env added":    func(v *tenancyv1alpha1.ProductVersion) { v.Components[1].Env = []tenancyv1alpha1.EnvVar{{Name: "A"}} },
		"requests": func(v *tenancyv1alpha1.ProductVersion) {
			v.Components[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("200m")
		},
		"limits": func(v *tenancyv1alpha1.ProductVersion) {
			v.Components[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("512Mi")
		},
		"resources removed": func(v *tenancyv1alpha1.ProductVersion) { v.Components[0].Resources = nil },
		"component name":    func(v *tenancyv1alpha1.ProductVersion) { v.Components[1].Name = "jobs" },
		"component added": func(v *tenancyv1alpha1.ProductVersion) {
			v.Components = append(v.Components, tenancyv1alpha1.Component{Name: "cron", Image: "cron:1"})
		},
		"component removed":   func(v *tenancyv1alpha1.ProductVersion) { v.Components = v.Components[:1] },
		"version name's case": func(v *tenancyv1alpha1.ProductVersion) { v.Name = "V1" },
	}
	seen := map[string]string{base: "base"}
	for what, change := range cases {
		v := version()
		change(v)
		got := Name("payments", v)
		if other, dup := seen[got]; dup {
			t.Errorf("changing %s gives the name of %s: %s", what, other, got)
		}
		seen[got] = what
	}
}

func TestNameIgnoresDeprecated(t *testing.T) {
	v := version()
	v.Deprecated = true
	if got, want := Name("payments", v), Name("payments", version()); got != want {
		t.Errorf("deprecating the version renamed its revision: %s, was %s (it would move every tenant)", got, want)
	}
}

func TestNameIgnoresHowAQuantityIsWritten(t *testing.T) {
	a, b := version(), version()
	a.Components[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("1")
	b.Components[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("1000m")
	if Name("payments", a) != Name("payments", b) {
		t.Errorf("cpu 1 and 1000m give different revisions")
	}
}

func validName(t *testing.T, name string) {
	t.Helper()
	if len(name) > 253 {
		t.Errorf("%s is %d characters long, more than 253", name, len(name))
	}
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		t.Errorf("%s is not a valid object name: %s", name, msg)
	}
	if !hash.MatchString(name) {
		t.Errorf("%s does not end in -<hash>", name)
	}
}

func TestNameOfVersionNames(t *testing.T) {
	for _, tc := range []struct{ version, prefix string }{
		{"v1", "payments-v1-"},
		{"V2", "payments-v2-"},
		{"v1.2.3", "payments-v1-2-3-"},
		{"2024_06_rc.1", "payments-2024-06-rc-1-"},
		{"Beta_1.X", "payments-beta-1-x-"},
		{"a._-b", "payments-a---b-"},
	} {
		v := version()
		v.Name = tc.version
		name := Name("payments", v)
		validName(t, name)
		if !strings.HasPrefix(name, tc.prefix) || len(name) != len(tc.prefix)+10 {
			t.Errorf("version %s: revision %s, want %s<hash>", tc.version, name, tc.prefix)
		}
	}
	// Versions that read alike once made a name are still different revisions.
	names := map[string]string{}
	for _, n := range []string{"v1.0", "v1_0", "v1-0", "V1.0"} {
		v := version()
		v.Name = n
		name := Name("payments", v)
		if other, dup := names[name]; dup {
			t.Errorf("versions %s and %s share revision %s", other, n, name)
		}
		names[name] = n
	}
	// So are a product and version that read alike as another pair.
	a, b := version(), version()
	a.Name, b.Name = "c", "b-c"
	if Name("a-b", a) == Name("a", b) {
		t.Errorf("product a-b version c and product a version b-c share revision %s", Name("a", b))
	}
}

// longName is a valid 253-character object name made of labels of at most 63 characters,
// with sep at index 241: the last character kept when a revision name is shortened.
func longName(sep byte) string {
	var b strings.Builder
	for b.Len() < 192 {
		b.WriteString(strings.Repeat("a", 63))
		b.WriteByte('.')
	}
	b.WriteString(strings.Repeat("b", 241-b.Len()))
	b.WriteByte(sep)
	b.WriteString(strings.Repeat("c", 253-b.Len()))
	return b.String()
}

func TestNameOfLongProducts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		product string
		version string
	}{
		{"253 characters, cut at a dot", longName('.'), "v1"},
		{"253 characters, cut at a dash", longName('-'), "v1"},
		{"253 characters of one label's letters", strings.Repeat("x", 253), "v1"},
		{"cut inside the version", strings.Repeat("p", 236), "release_2024.06.01-RC"},
		{"just fits", strings.Repeat("p", 239), "v1"},
		{"one too long", strings.Repeat("p", 240), "v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if errs := validation.IsDNS1123Subdomain(tc.product); len(errs) > 0 {
				t.Fatalf("the test's product name is invalid: %v", errs)
			}
			v := version()
			v.Name = tc.version
			name := Name(tc.product, v)
			validName(t, name)
			if !strings.HasSuffix(name, "-"+Hash(v)) {
				t.Errorf("%s does not end in the version's hash", name)
			}
			if got := name[:len(name)-11]; !strings.HasPrefix(tc.product+"-"+strings.ToLower(tc.version), got) &&
				!strings.HasPrefix(strings.NewReplacer(".", "-", "_", "-").Replace(tc.product+"-"+strings.ToLower(tc.version)), got) {
				t.Errorf("%s does not start with the product's name", name)
			}
			if Name(tc.product, v) != name {
				t.Errorf("Name is not stable for a long product name")
			}
			// Two versions of a long product whose names are cut away still differ.
			w := version()
			w.Name = tc.version + "-b"
			if Name(tc.product, w) == name {
				t.Errorf("versions %s and %s of a long product share revision %s", tc.version, w.Name, name)
			}
			// A shortened name still decodes.
			cr := New(product(tc.product), v, "tenant-operator", 1)
			if cr.Name != name {
				t.Errorf("New named the revision %s, Name says %s", cr.Name, name)
			}
			if _, err := Decode(cr); err != nil {
				t.Errorf("Decode of a revision with a shortened name: %v", err)
			}
		})
	}
	// A name that fits is not shortened.
	if got, want := Name(strings.Repeat("p", 239), version()), strings.Repeat("p", 239)+"-v1-"+Hash(version()); got != want {
		t.Errorf("Name = %s, want %s", got, want)
	}
}

func TestNew(t *testing.T) {
	p, v := product("payments"), version()
	v.Deprecated = true
	cr := New(p, v, "tenant-operator", 7)
	if cr.Name != Name("payments", v) || cr.Namespace != "tenant-operator" || cr.Revision != 7 {
		t.Errorf("New made %s/%s revision %d", cr.Namespace, cr.Name, cr.Revision)
	}
	wantLabels := map[string]string{
		tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue,
		tenancyv1alpha1.LabelProduct:   "payments",
		tenancyv1alpha1.LabelVersion:   "v1",
	}
	if !apiequality.Semantic.DeepEqual(cr.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", cr.Labels, wantLabels)
	}
	for k, val := range cr.Labels {
		if errs := validation.IsValidLabelValue(val); len(errs) > 0 {
			t.Errorf("label %s=%s: %v", k, val, errs)
		}
	}
	if len(cr.OwnerReferences) != 1 {
		t.Fatalf("owner references %v, want the product", cr.OwnerReferences)
	}
	o := cr.OwnerReferences[0]
	if o.APIVersion != "tenancy.openplatform.io/v1alpha1" || o.Kind != "ApiProduct" || o.Name != "payments" || o.UID != p.UID ||
		o.Controller == nil || !*o.Controller {
		t.Errorf("owner reference %+v: want the product as controller, so that deleting it deletes its revisions", o)
	}
	// A version name with capitals and '_' is a valid label value as it is.
	v.Name = "Beta_1.X"
	if got := New(p, v, "ns", 1).Labels[tenancyv1alpha1.LabelVersion]; got != "Beta_1.X" {
		t.Errorf("version label %s, want Beta_1.X", got)
	}
}

func TestDecodeRoundTrips(t *testing.T) {
	v := version()
	v.Deprecated = true
	got, err := Decode(New(product("payments"), v, "tenant-operator", 1))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := version() // deprecated is not content
	if !apiequality.Semantic.DeepEqual(got, want) {
		t.Errorf("Decode = %+v, want %+v", got, want)
	}
	if Name("payments", got) != Name("payments", v) {
		t.Errorf("the decoded version names another revision")
	}
}

func TestDecodeAcceptsReencodedContent(t *testing.T) {
	// The API server may hand back the same JSON formatted otherwise.
	cr := New(product("payments"), version(), "tenant-operator", 1)
	var buf bytes.Buffer
	if err := json.Indent(&buf, cr.Data.Raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	cr.Data.Raw = buf.Bytes()
	if _, err := Decode(cr); err != nil {
		t.Errorf("Decode of indented content: %v", err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := func() *appsv1.ControllerRevision { return New(product("payments"), version(), "tenant-operator", 1) }
	edit := func(f func(*tenancyv1alpha1.ProductVersion)) func(*appsv1.ControllerRevision) {
		return func(cr *appsv1.ControllerRevision) {
			v := &tenancyv1alpha1.ProductVersion{}
			if err := json.Unmarshal(cr.Data.Raw, v); err != nil {
				panic(err)
			}
			f(v)
			raw, err := json.Marshal(v)
			if err != nil {
				panic(err)
			}
			cr.Data.Raw = raw
		}
	}
	for _, tc := range []struct {
		name   string
		tamper func(*appsv1.ControllerRevision)
		says   string
	}{
		{"an edited image", edit(func(v *tenancyv1alpha1.ProductVersion) { v.Components[0].Image = "evil.example.com/miner:1" }), "changed after it was made"},
		{"an added env var", edit(func(v *tenancyv1alpha1.ProductVersion) {
			v.Components[1].Env = []tenancyv1alpha1.EnvVar{{Name: "DEBUG", Value: "1"}}
		}), "changed after it was made"},
		{"another version's name", edit(func(v *tenancyv1alpha1.ProductVersion) { v.Name = "v2" }), "changed after it was made"},
		{"a renamed revision", func(cr *appsv1.ControllerRevision) {
			cr.Name = strings.TrimSuffix(cr.Name, Hash(version())) + "0123456789"
		}, "changed after it was made"},
		{"another version's content", func(cr *appsv1.ControllerRevision) {
			v := version()
			v.Components[0].Image = "registry.example.com/payments-api:2.0.0"
			cr.Data = New(product("payments"), v, "tenant-operator", 1).Data
		}, "changed after it was made"},
		{"no components", edit(func(v *tenancyv1alpha1.ProductVersion) { v.Components = nil }), "no components"},
		{"no data", func(cr *appsv1.ControllerRevision) { cr.Data.Raw = nil }, "does not hold a product version"},
		{"not JSON", func(cr *appsv1.ControllerRevision) { cr.Data.Raw = []byte("components: [") }, "does not hold a product version"},
		{"JSON of another shape", func(cr *appsv1.ControllerRevision) { cr.Data.Raw = []byte(`{"components": "api"}`) }, "does not hold a product version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := good()
			tc.tamper(cr)
			v, err := Decode(cr)
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", v)
			}
			if v != nil {
				t.Errorf("Decode returned a version with its error")
			}
			if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), cr.Name) {
				t.Errorf("error %q does not name the revision and say %q", err, tc.says)
			}
		})
	}
}
