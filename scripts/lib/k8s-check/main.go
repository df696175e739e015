// k8s-check reads Kubernetes manifests (YAML, `---`-separated, e.g. `helm template` output) on stdin and
// decodes each into its typed API object, rejecting unknown or duplicate fields and values of the wrong
// type: the schema check of the API server, offline. Kinds it does not know are errors.
// Exit 0: every document is valid, one line per object on stdout; exit 1: one line per problem on stderr.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// kinds maps "apiVersion/kind" to a constructor of its typed object.
var kinds = map[string]func() any{
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"v1/Secret":                              func() any { return &corev1.Secret{} },
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/Service":                             func() any { return &corev1.Service{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"monitoring.coreos.com/v1/PodMonitor":    func() any { return &monitoringv1.PodMonitor{} },
}

var separator = regexp.MustCompile(`(?m)^---\s*$`)

func main() {
	in, err := io.ReadAll(bufio.NewReader(os.Stdin))
	if err != nil {
		fmt.Fprintf(os.Stderr, "k8s-check: reading stdin: %v\n", err)
		os.Exit(1)
	}
	failed, n := false, 0
	for i, doc := range separator.Split(string(in), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		n++
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			fmt.Fprintf(os.Stderr, "document %d: not YAML: %v\n", i+1, err)
			failed = true
			continue
		}
		key := head.APIVersion + "/" + head.Kind
		newObj, ok := kinds[key]
		if !ok {
			fmt.Fprintf(os.Stderr, "document %d (%s): unknown apiVersion/kind %q\n", i+1, head.Metadata.Name, key)
			failed = true
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), newObj()); err != nil {
			fmt.Fprintf(os.Stderr, "%s %s: %v\n", key, head.Metadata.Name, err)
			failed = true
			continue
		}
		if head.Metadata.Name == "" {
			fmt.Fprintf(os.Stderr, "%s: metadata.name is empty\n", key)
			failed = true
			continue
		}
		fmt.Printf("ok %s %s\n", key, head.Metadata.Name)
	}
	if n == 0 {
		fmt.Fprintln(os.Stderr, "k8s-check: no documents on stdin")
		failed = true
	}
	if failed {
		os.Exit(1)
	}
}

func stripComments(doc string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
