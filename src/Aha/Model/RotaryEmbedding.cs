using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// Rotary position embedding tables (Hugging Face <c>rotate_half</c> convention), computed once in float32 the way
/// <c>LlamaRotaryEmbedding</c> does so a looked-up angle is bit-identical to Hugging Face's per-call product.
/// </summary>
/// <remarks>
/// Deliberately not a module: TorchSharp's <c>Module.to()</c> re-registers buffers as persistent, which would leak
/// these tables into the state dict. They are derived data, so the owner moves them lazily instead.
/// </remarks>
internal sealed class RotaryEmbedding : IDisposable
{
    readonly int _headDim;
    readonly double _theta;
    readonly RopeScaling? _scaling;
    Tensor _cos; // (L, D)
    Tensor _sin; // (L, D), first half negated: rotate_half's sign folded in (see Apply)

    public RotaryEmbedding(int headDim, double theta, int length, Device? device, RopeScaling? scaling = null)
    {
        _headDim = headDim;
        _theta = theta;
        _scaling = scaling;
        (_cos, _sin) = Tables(length, device ?? CPU);
    }

    (Tensor Cos, Tensor Sin) Tables(int length, Device device)
    {
        using var scope = NewDisposeScope();
        var exponents = arange(0, _headDim, 2, dtype: int64, device: device).to(float32) / _headDim;
        var invFreq = 1.0f / pow(_theta, exponents);                                   // (D/2)
        if (_scaling is { } scaling) invFreq = Llama3(invFreq, scaling);
        var freqs = outer(arange(length, dtype: int64, device: device).to(float32), invFreq); // (L, D/2)
        var emb = cat([freqs, freqs], -1);                                              // (L, D)
        var sin = freqs.sin();
        return (emb.cos().DetachFromDisposeScope(), cat([sin.neg(), sin], -1).DetachFromDisposeScope());
    }

    /// <summary>
    /// Llama 3's frequency scaling, as transformers' <c>_compute_llama3_parameters</c> computes it (in float32, the
    /// inverse frequencies' dtype): low frequencies divided by factor, high ones kept, a linear blend in wavelength between.
    /// </summary>
    static Tensor Llama3(Tensor invFreq /* (D/2) */, RopeScaling s)
    {
        double lowWavelength = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;   // longer than this: slowed by factor
        double highWavelength = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor; // shorter than this: unchanged
        var wavelength = 2 * Math.PI / invFreq;
        var scaled = where(wavelength > lowWavelength, invFreq / s.Factor, invFreq);
        var smooth = (s.OriginalMaxPositionEmbeddings / wavelength - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        var smoothed = (1 - smooth) * scaled / s.Factor + smooth * scaled;
        var medium = (wavelength < highWavelength).logical_not().logical_and((wavelength > lowWavelength).logical_not());
        return where(medium, smoothed, scaled);
    }

    /// <summary>
    /// cos and the signed sin (first half negated) for each position in the activations' dtype, shaped to broadcast over
    /// heads: (B, 1, T, D) each. Pass both to <see cref="Apply"/>.
    /// </summary>
    public (Tensor Cos, Tensor SignedSin) Lookup(Tensor positionIds /* (B, T) */, long maxPosition, ScalarType dtype)
    {
        Covering(maxPosition, positionIds.device);
        using var scope = NewDisposeScope();
        long b = positionIds.shape[0], t = positionIds.shape[1];
        var flat = positionIds.reshape(-1);
        var cos = _cos.index_select(0, flat).view(b, 1, t, _headDim).to(dtype); // angles in float32, like Hugging Face, then cast
        var sin = _sin.index_select(0, flat).view(b, 1, t, _headDim).to(dtype);
        return (scope.MoveToOuter(cos), scope.MoveToOuter(sin));
    }

    /// <summary>The whole float32 tables (L, D), grown to hold <paramref name="maxPosition"/>: what the fused decode path reads.</summary>
    internal (Tensor Cos, Tensor SignedSin) Covering(long maxPosition, Device device)
    {
        if (maxPosition >= _cos.shape[0] || _cos.device_type != device.type || _cos.device_index != device.index)
        {
            // Positions past max_position_embeddings are legal in Hugging Face too; grow to the next power of two.
            long length = Math.Max(_cos.shape[0], 1L << (int)Math.Ceiling(Math.Log2(maxPosition + 1)));
            _cos.Dispose();
            _sin.Dispose();
            (_cos, _sin) = Tables((int)length, device);
        }
        return (_cos, _sin);
    }

    /// <summary>
    /// x·cos + rotate_half(x)·sin with rotate_half(x) = cat(−x₂, x₁), computed as x·cos + roll(x, D/2)·(signed sin):
    /// the same products (negating a factor is exact), in three libtorch calls instead of seven.
    /// </summary>
    public static Tensor Apply(Tensor x /* (…, D) */, Tensor cos, Tensor signedSin /* broadcastable to x */)
    {
        using var scope = NewDisposeScope();
        var swapped = x.roll(x.shape[^1] / 2, -1);                  // cat(x₂, x₁)
        return scope.MoveToOuter((x * cos).addcmul_(swapped, signedSin, 1));
    }

    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
    }
}
