namespace Aha.Eval;

/// <summary>
/// The unbiased pass@k estimator of Chen et al. (2021): with n samples of which c are correct,
/// pass@k = 1 − C(n−c, k) / C(n, k), the chance that k samples drawn without replacement contain a correct one.
/// Computed as a running product, which never forms the huge binomials.
/// </summary>
public static class PassAtK
{
    public static double Estimate(int n, int c, int k)
    {
        if (n <= 0 || k <= 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"pass@{k} needs 1 <= k <= n (n = {n}).");
        if (c < 0 || c > n) throw new ArgumentOutOfRangeException(nameof(c), $"correct count {c} must be in [0, {n}].");
        if (n - c < k) return 1.0;
        // C(n−c, k)/C(n, k) = Π_{i=n−c+1}^{n} (1 − k/i)
        var fail = 1.0;
        for (var i = n - c + 1; i <= n; i++) fail *= 1.0 - (double)k / i;
        return 1.0 - fail;
    }
}
