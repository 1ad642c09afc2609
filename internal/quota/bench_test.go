package quota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// benchmarkSplit splits the contract's pro budget (CPU in millicores, memory in bytes,
// pods) across n namespaces of mixed weights.
func benchmarkSplit(b *testing.B, n int) {
	budget := list("requests.cpu", "8", "requests.memory", "16Gi", "limits.cpu", "16", "limits.memory", "32Gi", "pods", "100")
	weights := make([]int64, n)
	for i := range weights {
		weights[i] = int64(1 + i%3)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Split(budget, weights); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplit1(b *testing.B)  { benchmarkSplit(b, 1) }
func BenchmarkSplit20(b *testing.B) { benchmarkSplit(b, 20) }

// BenchmarkSum adds up 20 namespaces' usage.
func BenchmarkSum(b *testing.B) {
	used := make([]corev1.ResourceList, 20)
	for i := range used {
		used[i] = list("requests.cpu", "350m", "requests.memory", "700Mi", "pods", "4")
	}
	b.ReportAllocs()
	for b.Loop() {
		Sum(used...)
	}
}
