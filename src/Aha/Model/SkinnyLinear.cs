using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// y = x·Wᵀ (+ b) for the few rows of a decode step, on the CPU, read straight from the tensors' memory.
/// </summary>
/// <remarks>
/// At batch 1–8 a projection is a matrix-vector product that must stream the whole weight from memory. libtorch's
/// bundled oneMKL does that at 7–9 GB/s on this AMD CPU (one thread; measured in dev/LOG.md), a third of what the
/// memory delivers, and its small-M GEMM is slower still. This kernel reads each weight row once with AVX2 FMAs,
/// splits the rows over torch's thread count (on <see cref="SpinWorkers"/>) and reaches about 23 GB/s. It runs only
/// without autograd, in fp32 on the CPU, on contiguous tensors of at most <see cref="MaxRows"/> rows; everything else
/// goes to libtorch. Sums are accumulated in a different order than MKL's, so results differ from <c>linear</c> by
/// float rounding; a row's result does not depend on the other rows of the call.
/// </remarks>
internal static class SkinnyLinear
{
    /// <summary>The most rows the kernel takes: measured faster than libtorch up to 8 (dev/LOG.md); more go to libtorch's GEMM.</summary>
    public const int MaxRows = 8;

    /// <summary>The layer applied to <paramref name="x"/> (…, in) → (…, out), by this kernel when it applies.</summary>
    public static Tensor Forward(Linear layer, Tensor x) =>
        Applies(x, layer.weight!) ? Compute(x, [layer.weight!], [layer.bias]) : layer.forward(x);

    /// <summary>x·Wᵀ without bias (a tied output head), by this kernel when it applies.</summary>
    public static Tensor Forward(Tensor x, Tensor weight) =>
        Applies(x, weight) ? Compute(x, [weight], [null]) : nn.functional.linear(x, weight);

    /// <summary>
    /// Several layers on the same input, their outputs side by side: (…, in) → (…, out₁ + out₂ + …). One kernel call for
    /// a decode step (Q, K and V, or gate and up, in one pass over the threads); for fewer rows than input features, one
    /// GEMM per layer and the outputs concatenated; otherwise one libtorch GEMM on the concatenated weights, which
    /// autograd splits back into each layer's gradient. Parameters and state-dict keys stay per layer, as Hugging Face
    /// names them.
    /// </summary>
    public static Tensor Fused(Tensor x, params Linear[] layers)
    {
        if (TryFused(x, layers) is { } fused) return fused;
        var weights = layers.Select(l => l.weight!).ToArray();
        var biases = layers.Select(l => l.bias).ToArray();
        using var scope = NewDisposeScope();
        // Concatenate whichever is smaller: the outputs (few rows, e.g. a decode step of 64) or the weights (many rows).
        long rows = x.numel() / Math.Max(1, x.shape[^1]);
        if (rows < x.shape[^1]) return scope.MoveToOuter(cat(layers.Select(l => l.forward(x)).ToArray(), -1));
        var bias = biases.All(b => b is null) ? null
            : cat(biases.Select((b, i) => b ?? zeros(weights[i].shape[0], weights[i].dtype, weights[i].device)).ToArray());
        return scope.MoveToOuter(nn.functional.linear(x, cat(weights), bias));
    }

    /// <summary>The layers' outputs side by side from one kernel call, or null where the kernel does not apply.</summary>
    public static Tensor? TryFused(Tensor x, params Linear[] layers) =>
        layers.All(l => Applies(x, l.weight!)) ? Compute(x, [.. layers.Select(l => l.weight!)], [.. layers.Select(l => l.bias)]) : null;

    /// <summary>Whether <see cref="Forward"/> would use this kernel for <paramref name="x"/> and <paramref name="weight"/>.</summary>
    public static bool Applies(Tensor x, Tensor weight) =>
        Fma.IsSupported && Avx.IsSupported && !is_grad_enabled()
        && x.device_type == TorchSharp.DeviceType.CPU && weight.device_type == TorchSharp.DeviceType.CPU
        && x.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && x.numel() / Math.Max(1, x.shape[^1]) <= MaxRows && x.shape[^1] == weight.shape[1]
        && x.is_contiguous() && weight.is_contiguous();

    // y (m × Σnⱼ) = x (m × k) · [W₀; W₁; …]ᵀ (+ biases): the weights' rows are one range split over the threads.
    static unsafe Tensor Compute(Tensor x, Tensor[] weights, Tensor?[] biases)
    {
        int k = (int)x.shape[^1], m = (int)(x.numel() / Math.Max(1, k));
        int[] rows = weights.Select(w => (int)w.shape[0]).ToArray();
        int n = rows.Sum();
        var y = empty([.. x.shape[..^1], n], ScalarType.Float32);
        if (m == 0) return y;
        var pointers = new nint[weights.Length];
        for (int j = 0; j < weights.Length; j++) pointers[j] = (nint)Pointer(weights[j]);
        float* px = Pointer(x), py = Pointer(y);
        void Range(int from, int to) // global weight rows [from, to) across the stacked weights
        {
            for (int j = 0, offset = 0; j < rows.Length && offset < to; offset += rows[j++])
            {
                int a = Math.Max(from, offset), b = Math.Min(to, offset + rows[j]);
                if (a < b) Rows(px, (float*)pointers[j] - (long)offset * k, py, m, k, n, a, b);
            }
        }
        int parts = Math.Clamp(get_num_threads(), 1, Math.Max(1, n / 64)); // a part under 64 rows is not worth a thread
        int chunk = (n + parts - 1) / parts;
        if (parts == 1) Range(0, n);
        else SpinWorkers.Run(parts, p => Range(p * chunk, Math.Min(n, (p + 1) * chunk)));
        for (int j = 0, offset = 0; j < biases.Length; offset += rows[j++])
            if (biases[j] is { } bias) y.narrow(-1, offset, rows[j]).add_(bias);
        return y;
    }

    static unsafe float* Pointer(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    // Output columns [from, to) of y (m × n) = x (m × k) · w (n × k)ᵀ; w points so that row r of the stack is w + r·k.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // tier-0 code would run the first hundreds of calls several times slower
    static unsafe void Rows(float* x, float* w, float* y, int m, int k, int n, int from, int to)
    {
        for (int r = from; r < to; r++)
        {
            float* row = w + (long)r * k;
            if (m == 1) y[r] = Dot(row, x, k);
            else for (int first = 0; first < m; first += 4) Dot4(row, x, y, k, n, r, first, Math.Min(4, m - first));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe float Dot(float* a, float* b, int k)
    {
        var s0 = Vector256<float>.Zero;
        var s1 = Vector256<float>.Zero;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            s0 = Fma.MultiplyAdd(Avx.LoadVector256(a + i), Avx.LoadVector256(b + i), s0);
            s1 = Fma.MultiplyAdd(Avx.LoadVector256(a + i + 8), Avx.LoadVector256(b + i + 8), s1);
        }
        float sum = Vector256.Sum(s0 + s1);
        for (; i < k; i++) sum += a[i] * b[i];
        return sum;
    }

    // One weight row against up to four input rows at once, so each weight vector is loaded once for all of them. Each
    // row's sum is formed exactly as Dot forms it (two 8-wide accumulators, then the tail), so a row's result does not
    // depend on how many rows share the call.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Dot4(float* row, float* x, float* y, int k, int n, int r, int first, int count)
    {
        float* x0 = x + (long)first * k;
        float* x1 = count > 1 ? x0 + k : x0; // missing rows repeat row 0; their sums are not written
        float* x2 = count > 2 ? x0 + 2 * k : x0;
        float* x3 = count > 3 ? x0 + 3 * k : x0;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            var lo = Avx.LoadVector256(row + i);
            var hi = Avx.LoadVector256(row + i + 8);
            a0 = Fma.MultiplyAdd(lo, Avx.LoadVector256(x0 + i), a0);
            b0 = Fma.MultiplyAdd(hi, Avx.LoadVector256(x0 + i + 8), b0);
            a1 = Fma.MultiplyAdd(lo, Avx.LoadVector256(x1 + i), a1);
            b1 = Fma.MultiplyAdd(hi, Avx.LoadVector256(x1 + i + 8), b1);
            a2 = Fma.MultiplyAdd(lo, Avx.LoadVector256(x2 + i), a2);
            b2 = Fma.MultiplyAdd(hi, Avx.LoadVector256(x2 + i + 8), b2);
            a3 = Fma.MultiplyAdd(lo, Avx.LoadVector256(x3 + i), a3);
            b3 = Fma.MultiplyAdd(hi, Avx.LoadVector256(x3 + i + 8), b3);
        }
        float t0 = Vector256.Sum(a0 + b0), t1 = Vector256.Sum(a1 + b1), t2 = Vector256.Sum(a2 + b2), t3 = Vector256.Sum(a3 + b3);
        for (; i < k; i++)
        {
            t0 += row[i] * x0[i];
            t1 += row[i] * x1[i];
            t2 += row[i] * x2[i];
            t3 += row[i] * x3[i];
        }
        float* out0 = y + (long)first * n + r;
        out0[0] = t0;
        if (count > 1) out0[n] = t1;
        if (count > 2) out0[2L * n] = t2;
        if (count > 3) out0[3L * n] = t3;
    }
}
