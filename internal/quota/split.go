// Package quota splits a tenant-wide quota budget across the tenant's namespaces.
//
// Every quantity of the budget is divided in proportion to the namespaces' weights in
// whole units: millicores for CPU (and any quantity that is not a whole number), bytes for
// memory and storage, plain counts for everything else. Integer remainders go to the first
// namespaces, so the shares always add up exactly to the budget and never exceed it.
package quota

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Split divides every quantity of budget across len(weights) namespaces in proportion to
// weights. It returns one ResourceList per weight, in the same order. Weights must be
// positive.
func Split(budget corev1.ResourceList, weights []int64) ([]corev1.ResourceList, error) {
	if len(weights) == 0 {
		return nil, nil
	}
	total := new(big.Int)
	for i, w := range weights {
		if w <= 0 {
			return nil, fmt.Errorf("weight %d of namespace %d must be positive", w, i)
		}
		total.Add(total, big.NewInt(w))
	}
	shares := make([]corev1.ResourceList, len(weights))
	for i := range shares {
		shares[i] = corev1.ResourceList{}
	}
	for name, q := range budget {
		if q.Sign() < 0 {
			return nil, fmt.Errorf("quota %s is negative (%s)", name, q.String())
		}
		// Kubernetes supports quantities up to 2^63-1; beyond that apimachinery prints
		// them wrongly, so a share could not be written faithfully.
		if q.AsDec().Scale() < -18 || q.CmpInt64(math.MaxInt64) > 0 {
			return nil, fmt.Errorf("quota %s is larger than Kubernetes supports (at most %d)", name, int64(math.MaxInt64))
		}
		milli := useMilli(name, q)
		amount, err := units(q, milli)
		if err != nil {
			return nil, fmt.Errorf("quota %s: %w", name, err)
		}
		parts := splitInt(amount, weights, total)
		for i, p := range parts {
			shares[i][name] = quantity(p, milli, q.Format)
		}
	}
	return shares, nil
}

// useMilli reports whether name is split in millicores or thousandths: CPU always, any other
// quantity when it is not a whole number of units.
func useMilli(name corev1.ResourceName, q resource.Quantity) bool {
	if strings.HasSuffix(string(name), "cpu") {
		return true
	}
	whole := q.DeepCopy()
	whole.RoundUp(0)
	return whole.Cmp(q) != 0
}

// maxDigits bounds the size of a quantity the split accepts: 10^30 units is far beyond any
// real budget (an exabyte is 10^18 bytes), and an exponent such as 7E7222222221 would
// otherwise make the split compute a number with billions of digits.
const maxDigits = 30

// units returns q as an integer count of units (or thousandths when milli).
func units(q resource.Quantity, milli bool) (*big.Int, error) {
	dec := q.AsDec()
	scale := dec.Scale() // value = unscaled * 10^-scale
	unscaled := new(big.Int).Set(dec.UnscaledBig())
	exp := -int64(scale)
	if milli {
		exp += 3
	}
	mantissa := int64(len(unscaled.String()))
	if mantissa+exp > maxDigits {
		return nil, fmt.Errorf("%s is too large to split (at most %d digits)", q.String(), maxDigits)
	}
	ten := big.NewInt(10)
	if exp >= 0 {
		return unscaled.Mul(unscaled, new(big.Int).Exp(ten, big.NewInt(exp), nil)), nil
	}
	if -exp > mantissa {
		// Less than one unit (or thousandth): nothing to share out.
		return new(big.Int), nil
	}
	// A value finer than the unit (e.g. 0.0005 cores) is rounded down: the shares must
	// never add up to more than the budget.
	return unscaled.Quo(unscaled, new(big.Int).Exp(ten, big.NewInt(-exp), nil)), nil
}

// splitInt splits amount in proportion to weights; the remainder goes one unit each to the
// first namespaces.
func splitInt(amount *big.Int, weights []int64, total *big.Int) []*big.Int {
	parts := make([]*big.Int, len(weights))
	sum := new(big.Int)
	for i, w := range weights {
		p := new(big.Int).Mul(amount, big.NewInt(w))
		p.Quo(p, total)
		parts[i] = p
		sum.Add(sum, p)
	}
	rest := new(big.Int).Sub(amount, sum) // 0 <= rest < len(weights)
	one := big.NewInt(1)
	for i := 0; rest.Sign() > 0; i++ {
		parts[i].Add(parts[i], one)
		rest.Sub(rest, one)
	}
	return parts
}

// quantity makes a Quantity of n units (or thousandths when milli) in the budget's format.
func quantity(n *big.Int, milli bool, format resource.Format) resource.Quantity {
	scale := resource.Scale(0)
	if milli {
		scale = -3
	}
	var q resource.Quantity
	if n.IsInt64() {
		q = *resource.NewScaledQuantity(n.Int64(), scale)
	} else {
		q = resource.MustParse(n.String())
		if milli {
			q = resource.MustParse(n.String() + "m")
		}
	}
	q.Format = format
	if milli && format == resource.BinarySI {
		// Thousandths cannot be written in binary suffixes.
		q.Format = resource.DecimalSI
	}
	// Canonicalise so the stored form is stable (e.g. 4000m is written as 4).
	return resource.MustParse(q.String())
}

// Sum adds up usage over namespaces.
func Sum(lists ...corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, l := range lists {
		for name, q := range l {
			acc := out[name]
			acc.Add(q)
			out[name] = acc
		}
	}
	return out
}
