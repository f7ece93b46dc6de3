package check

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// knownKinds maps "apiVersion/kind" to a constructor of the real API type.
// A manifest whose apiVersion/kind is not listed here is an error: add the
// type here when you add a new kind of object to deploy/k8s.
var knownKinds = map[string]func() any{
	"v1/Namespace":                           func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                              func() any { return &corev1.Secret{} },
	"v1/Service":                             func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                      func() any { return &corev1.ServiceAccount{} },
	"v1/PersistentVolumeClaim":               func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                    func() any { return &appsv1.StatefulSet{} },
	"networking.k8s.io/v1/Ingress":           func() any { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1/NetworkPolicy":     func() any { return &networkingv1.NetworkPolicy{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
}

// kustomization is the subset of kustomize's Kustomization that deploy/k8s
// uses, decoded strictly too (a misspelt key must not be ignored).
type kustomization struct {
	APIVersion   string            `json:"apiVersion"`
	Kind         string            `json:"kind"`
	Namespace    string            `json:"namespace,omitempty"`
	NamePrefix   string            `json:"namePrefix,omitempty"`
	Resources    []string          `json:"resources"`
	CommonLabels map[string]string `json:"commonLabels,omitempty"`
	Labels       []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
		IncludeTemplates bool              `json:"includeTemplates,omitempty"`
	} `json:"labels,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// decodeManifest strictly decodes one YAML document into its Kubernetes
// API type: unknown or duplicate fields, a wrong value type, and an
// unrecognised apiVersion/kind are errors.
func decodeManifest(doc []byte) (any, error) {
	var tm typeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("cannot read apiVersion/kind: %w", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, fmt.Errorf("missing apiVersion or kind")
	}
	newObj, ok := knownKinds[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("unrecognised apiVersion/kind %s/%s", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

type manifest struct {
	file string
	obj  any
}

func k8sDir(t testing.TB) string { return filepath.Join(repoRoot(t), "deploy", "k8s") }

func isKustomization(name string) bool {
	return name == "kustomization.yaml" || name == "kustomization.yml" || name == "Kustomization"
}

// loadManifests decodes every manifest in deploy/k8s (all but the
// kustomization) and fails the test on any error.
func loadManifests(t *testing.T) []manifest {
	t.Helper()
	entries, err := os.ReadDir(k8sDir(t))
	if err != nil {
		t.Fatalf("cannot list deploy/k8s: %v", err)
	}
	var out []manifest
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || isKustomization(name) || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		path := filepath.Join(k8sDir(t), name)
		docs := splitYAMLDocuments(readFile(t, path))
		if len(docs) == 0 {
			t.Errorf("%s: no YAML document", rel(t, path))
		}
		for i, doc := range docs {
			obj, err := decodeManifest(doc)
			if err != nil {
				t.Errorf("%s (document %d): %v", rel(t, path), i+1, err)
				continue
			}
			out = append(out, manifest{file: name, obj: obj})
		}
	}
	if len(out) == 0 {
		t.Fatal("deploy/k8s holds no manifest")
	}
	return out
}

func loadKustomization(t *testing.T) kustomization {
	t.Helper()
	path := filepath.Join(k8sDir(t), "kustomization.yaml")
	var k kustomization
	if err := yaml.UnmarshalStrict(readFile(t, path), &k); err != nil {
		t.Fatalf("%s: %v", rel(t, path), err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("%s: apiVersion/kind is %s/%s, want kustomize.config.k8s.io/v1beta1/Kustomization", rel(t, path), k.APIVersion, k.Kind)
	}
	return k
}

func TestK8sManifestsDecodeStrictly(t *testing.T) {
	for _, m := range loadManifests(t) {
		t.Logf("%s: %T", m.file, m.obj)
	}
}

func TestK8sKustomizationListsEveryManifest(t *testing.T) {
	k := loadKustomization(t)
	listed := map[string]bool{}
	for _, r := range k.Resources {
		if listed[r] {
			t.Errorf("kustomization.yaml lists %s twice", r)
		}
		listed[r] = true
		if _, err := os.Stat(filepath.Join(k8sDir(t), r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
	entries, err := os.ReadDir(k8sDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || isKustomization(name) || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		if !listed[name] {
			t.Errorf("deploy/k8s/%s is not listed in kustomization.yaml resources", name)
		}
	}
}

// The checks above are only worth something if strictness really holds.
func TestK8sDecodingIsStrict(t *testing.T) {
	valid := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
spec:
  replicas: 2
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
        - name: x
          image: x
`
	if _, err := decodeManifest([]byte(valid)); err != nil {
		t.Fatalf("a valid Deployment was rejected: %v", err)
	}
	bad := map[string]string{
		"misspelt top-level spec field":   strings.Replace(valid, "  replicas: 2", "  replicass: 2", 1),
		"misspelt nested container field": strings.Replace(valid, "          image: x", "          imagee: x", 1),
		"field of the wrong type":         strings.Replace(valid, "  replicas: 2", "  replicas: two", 1),
		"duplicate field":                 strings.Replace(valid, "  replicas: 2", "  replicas: 2\n  replicas: 3", 1),
		"unknown kind":                    strings.Replace(valid, "kind: Deployment", "kind: Deploymnet", 1),
		"unknown apiVersion":              strings.Replace(valid, "apiVersion: apps/v1", "apiVersion: apps/v2", 1),
		"missing kind":                    strings.Replace(valid, "kind: Deployment\n", "", 1),
		"misspelt probe field": strings.Replace(valid, "          image: x",
			"          image: x\n          readinessProbe:\n            httpGet: {path: /readyz, prot: 8080}", 1),
	}
	for name, doc := range bad {
		if _, err := decodeManifest([]byte(doc)); err == nil {
			t.Errorf("%s: accepted, want an error", name)
		} else {
			t.Logf("%s: rejected: %v", name, err)
		}
	}

	var k kustomization
	if err := yaml.UnmarshalStrict([]byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource: [a.yaml]\n"), &k); err == nil {
		t.Error("a kustomization with a misspelt key was accepted")
	}
}

// TestK8sDeploymentShape checks what the manifests promise beyond syntax.
func TestK8sDeploymentShape(t *testing.T) {
	var (
		deps    []*appsv1.Deployment
		svcs    []*corev1.Service
		ings    []*networkingv1.Ingress
		pdbs    []*policyv1.PodDisruptionBudget
		hpas    []*autoscalingv2.HorizontalPodAutoscaler
		cms     = map[string]*corev1.ConfigMap{}
		secrets = map[string]*corev1.Secret{}
	)
	for _, m := range loadManifests(t) {
		switch o := m.obj.(type) {
		case *appsv1.Deployment:
			deps = append(deps, o)
		case *corev1.Service:
			svcs = append(svcs, o)
		case *networkingv1.Ingress:
			ings = append(ings, o)
		case *policyv1.PodDisruptionBudget:
			pdbs = append(pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			hpas = append(hpas, o)
		case *corev1.ConfigMap:
			cms[o.Name] = o
		case *corev1.Secret:
			secrets[o.Name] = o
		}
	}
	if len(deps) != 1 || len(svcs) != 1 || len(ings) != 1 || len(pdbs) != 1 || len(hpas) != 1 {
		t.Fatalf("want one Deployment, Service, Ingress, PodDisruptionBudget and HorizontalPodAutoscaler; got %d, %d, %d, %d, %d",
			len(deps), len(svcs), len(ings), len(pdbs), len(hpas))
	}
	d := deps[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment replicas = %v, want 2", d.Spec.Replicas)
	}
	podLabels := d.Spec.Template.Labels
	if d.Spec.Selector == nil || !subset(d.Spec.Selector.MatchLabels, podLabels) {
		t.Errorf("Deployment selector does not match its pod labels")
	}
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot must be true")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("readiness probe must GET /readyz")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("liveness probe must GET /healthz")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("container needs cpu/memory requests and a memory limit")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("container securityContext.readOnlyRootFilesystem must be true")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("container securityContext.allowPrivilegeEscalation must be false")
	}
	// /data must be a writable volume (emptyDir or PVC) because the root
	// filesystem is read-only.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	dataMounted := false
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == "/data" {
			v, ok := volumes[vm.Name]
			if !ok || (v.EmptyDir == nil && v.PersistentVolumeClaim == nil) {
				t.Errorf("/data is mounted from %q, want an emptyDir or PVC volume", vm.Name)
			}
			dataMounted = !vm.ReadOnly
		}
	}
	if !dataMounted {
		t.Error("no writable volume is mounted at /data")
	}
	// With two replicas the store and cache must be shared: the MongoDB
	// and Redis URIs come from the Secret (the SQLite default is
	// single-instance only).
	env := map[string]string{} // name -> source
	for _, ef := range c.EnvFrom {
		switch {
		case ef.SecretRef != nil:
			s, ok := secrets[ef.SecretRef.Name]
			if !ok {
				t.Errorf("envFrom refers to missing Secret %q", ef.SecretRef.Name)
				continue
			}
			for k := range s.StringData {
				env[k] = "secret"
			}
			for k := range s.Data {
				env[k] = "secret"
			}
		case ef.ConfigMapRef != nil:
			cm, ok := cms[ef.ConfigMapRef.Name]
			if !ok {
				t.Errorf("envFrom refers to missing ConfigMap %q", ef.ConfigMapRef.Name)
				continue
			}
			for k := range cm.Data {
				env[k] = "configmap"
			}
		}
	}
	for _, e := range c.Env {
		env[e.Name] = "env"
	}
	for _, name := range []string{"PAYMON_MONGODB_URI", "PAYMON_REDIS_URL", "PAYMON_JWT_SECRET"} {
		if env[name] != "secret" {
			t.Errorf("%s must come from the Secret, got %q", name, env[name])
		}
	}
	if env["PAYMON_ADDR"] == "" {
		t.Error("PAYMON_ADDR must be set (the default listens on 127.0.0.1 only)")
	}

	svc := svcs[0]
	if !subset(svc.Spec.Selector, podLabels) || len(svc.Spec.Selector) == 0 {
		t.Error("Service selector does not match the pod labels")
	}
	pdb := pdbs[0]
	if pdb.Spec.Selector == nil || !subset(pdb.Spec.Selector.MatchLabels, podLabels) {
		t.Error("PodDisruptionBudget selector does not match the pod labels")
	}
	hpa := hpas[0]
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != d.Name {
		t.Errorf("HPA targets %s/%s, want Deployment/%s", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name, d.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
		t.Error("HPA minReplicas must be at least 2")
	}
	ing := ings[0]
	for _, key := range []string{"nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"} {
		if ing.Annotations[key] == "" {
			t.Errorf("Ingress lacks annotation %s (long-lived WebSocket streams)", key)
		}
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service == nil || p.Backend.Service.Name != svc.Name {
				t.Errorf("Ingress path %s does not point at Service %s", p.Path, svc.Name)
			}
		}
	}
	// Placeholders only: nothing in the Secret may look real.
	for name, s := range secrets {
		keys := make([]string, 0, len(s.StringData))
		for k := range s.StringData {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := s.StringData[k]
			if strings.HasSuffix(k, "_EMAIL") {
				continue
			}
			if !strings.Contains(v, "REPLACE-ME") {
				t.Errorf("Secret %s key %s does not hold a REPLACE-ME placeholder", name, k)
			}
		}
		if len(s.Data) > 0 {
			t.Errorf("Secret %s uses data:, keep committed placeholders in stringData", name)
		}
	}
}

func subset(sub, super map[string]string) bool {
	for k, v := range sub {
		if super[k] != v {
			return false
		}
	}
	return true
}
