using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// y = x·Wᵀ (+ b) for the few rows of a decode step, on the CPU, read straight from the tensors' memory.
/// </summary>
/// <remarks>
/// At batch 1–8 a projection is a matrix-vector product that must stream the whole weight from memory. libtorch's
/// bundled oneMKL does that at 7–9 GB/s on this AMD CPU (one thread; measured in dev/LOG.md), a third of what the
/// memory delivers, and its small-M GEMM is slower still. This runs the fused decode path's kernels
/// (<see cref="DecodeKernels"/>: each weight tile read once for up to four rows, prefetched ahead, AVX-512, AVX2 or
/// portable) with the rows split over torch's thread count (on <see cref="SpinWorkers"/>). It runs only
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
        !is_grad_enabled()
        && x.device_type == TorchSharp.DeviceType.CPU && weight.device_type == TorchSharp.DeviceType.CPU
        && x.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && x.numel() / Math.Max(1, x.shape[^1]) <= MaxRows && x.shape[^1] == weight.shape[1]
        && x.is_contiguous() && weight.is_contiguous();

    // y (m × Σnⱼ) = x (m × k) · [W₀; W₁; …]ᵀ (+ biases), by the fused decode path's kernels.
    static unsafe Tensor Compute(Tensor x, Tensor[] weights, Tensor?[] biases)
    {
        int k = (int)x.shape[^1], m = (int)(x.numel() / Math.Max(1, k));
        int[] rows = weights.Select(w => (int)w.shape[0]).ToArray();
        var y = empty([.. x.shape[..^1], rows.Sum()], ScalarType.Float32);
        if (m == 0) return y;
        new Projection([.. weights.Select(w => (nint)Pointer(w))], rows).Run(DecodeKernels.Best, false, k, Pointer(x), m, Pointer(y), rows.Sum(), SpinWorkers.Parts);
        for (int j = 0, offset = 0; j < biases.Length; offset += rows[j++])
            if (biases[j] is { } bias) y.narrow(-1, offset, rows[j]).add_(bias);
        return y;
    }

    static unsafe float* Pointer(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));
}
