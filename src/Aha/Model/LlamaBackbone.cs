using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// Embedding, decoder layers and final norm: the part Hugging Face calls <c>LlamaModel</c> / <c>DeepseekV3Model</c>
/// (state-dict prefix <c>model.</c>). Multi-token-prediction modules follow the decoder layers in the same list, as in
/// DeepSeek-V3's checkpoint, and run only when a trainer asks for their loss.
/// </summary>
internal sealed class LlamaBackbone : nn.Module
{
    [ComponentName(Name = "embed_tokens")] TokenEmbedding _embedTokens;
    [ComponentName(Name = "layers")] ModuleList<nn.Module> _layers; // decoder layers, then MTP modules
    [ComponentName(Name = "norm")] RmsNorm _norm;
    readonly LlamaDecoderLayer[] _decoder;
    readonly MtpLayer[] _mtp;
    readonly RotaryEmbedding _rotary;

    public LlamaBackbone(ModelConfig config, Device? device) : base(nameof(LlamaBackbone))
    {
        _embedTokens = new TokenEmbedding(config.VocabSize, config.HiddenSize, config.PadTokenId, device);
        _decoder = Enumerable.Range(0, config.NumHiddenLayers).Select(i => new LlamaDecoderLayer(config, i, device)).ToArray();
        _mtp = Enumerable.Range(0, config.NumNextnPredictLayers).Select(k => new MtpLayer(config, config.NumHiddenLayers + k, device)).ToArray();
        _layers = nn.ModuleList(_decoder.Cast<nn.Module>().Concat(_mtp).ToArray());
        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        _rotary = new RotaryEmbedding(config.RopeDim, config.RopeTheta, config.MaxPositionEmbeddings, device?.type == DeviceType.META ? CPU : device, config.RopeScaling);
        RegisterComponents();
    }

    public TokenEmbedding EmbedTokens => _embedTokens;
    /// <summary>The decoder layers (without MTP modules).</summary>
    public IReadOnlyList<LlamaDecoderLayer> Decoder => _decoder;

    /// <summary>Every MoE block with its layer index (MTP layers count on from num_hidden_layers).</summary>
    public IEnumerable<(int Layer, DeepSeekMoe Moe)> MoeBlocks
    {
        get
        {
            var blocks = _decoder.Select(d => d.Moe).Concat(_mtp.Select(m => m.Moe)).ToArray();
            for (int i = 0; i < blocks.Length; i++) if (blocks[i] is { } moe) yield return (i, moe);
        }
    }

    public int MtpDepth => _mtp.Length;
    internal RmsNorm Norm => _norm;
    internal RotaryEmbedding Rotary => _rotary;

    /// <summary>Final-normed hidden states (B, T, C); appends this call's keys and values to <paramref name="cache"/>.</summary>
    public Tensor forward(Tensor inputIds, Tensor? positionIds, Tensor? attentionMask, KvCache? cache, RouterLosses? losses = null)
    {
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        if (attentionMask is not null && (attentionMask.shape.Length != 2 || attentionMask.shape[0] != b || attentionMask.shape[1] != past + t))
            throw new ArgumentException(
                $"attention mask has shape [{string.Join(", ", attentionMask.shape)}]; expected [{b}, {past + t}] (batch, cached + new positions).",
                nameof(attentionMask));
        if (cache is not null && cache.Batch != b)
            throw new ArgumentException($"KV cache holds {cache.Batch} rows but the input has {b}.", nameof(cache));
        var x = _embedTokens.forward(inputIds); // (B, T, C)
        var (cos, sin, mask) = Positions(inputIds, positionIds, attentionMask, past, x.dtype);
        foreach (var layer in _decoder) x = layer.forward(x, cos, sin, mask, cache, losses);
        cache?.Advance((int)t);
        return scope.MoveToOuter(_norm.forward(x));
    }

    /// <summary>
    /// MTP module <paramref name="k"/> (0-based): h^{k+1} (B, T, C) from h^k (B, T, C) and the ids of the tokens k+1 ahead
    /// (B, T); positions and mask as for a forward over T tokens. Feed the result to <see cref="MtpNormed"/> for logits.
    /// </summary>
    public Tensor Mtp(int k, Tensor previous, Tensor aheadIds, Tensor? attentionMask, RouterLosses? losses)
    {
        using var scope = NewDisposeScope();
        var ahead = _embedTokens.forward(aheadIds); // (B, T, C)
        var (cos, sin, mask) = Positions(aheadIds, null, attentionMask, 0, ahead.dtype);
        return scope.MoveToOuter(_mtp[k].forward(previous, ahead, cos, sin, mask, losses));
    }

    public Tensor MtpNormed(int k, Tensor h) => _mtp[k].Normed(h);

    // Rotary tables (B, 1, T, R) for this call's positions and the attention mask (see AttentionMask).
    (Tensor Cos, Tensor Sin, Tensor? Mask) Positions(Tensor inputIds, Tensor? positionIds, Tensor? attentionMask, long past, ScalarType dtype)
    {
        long b = inputIds.shape[0], t = inputIds.shape[1];
        long maxPosition = past + t - 1; // a left-padded row's position never exceeds its slot index
        if (positionIds is null)
        {
            positionIds = attentionMask is null
                ? arange(past, past + t, dtype: int64, device: inputIds.device).unsqueeze(0).expand(b, t)
                : (attentionMask.to(int64).cumsum(-1) - 1).clamp_min(0).narrow(1, past, t); // (B, T): pads before the first real token get 0
        }
        else maxPosition = positionIds.max().item<long>();
        var (cos, sin) = _rotary.Lookup(positionIds, maxPosition, dtype); // (B, 1, T, R)
        return (cos, sin, AttentionMask(attentionMask, past, t, inputIds.device));
    }

    /// <summary>(B, 1, T, Tk) bool, or null when SDPA's own causal flag (T > 1, nothing cached) or no mask (T = 1) is exact.</summary>
    static Tensor? AttentionMask(Tensor? attentionMask, long past, long t, Device device)
    {
        if (attentionMask is null && (past == 0 || t == 1)) return null;
        long tk = past + t;
        var query = arange(past, tk, dtype: int64, device: device).unsqueeze(1); // (T, 1) slot index of each query
        var key = arange(tk, dtype: int64, device: device).unsqueeze(0);         // (1, Tk)
        var allowed = key.le(query);                                             // (T, Tk) causal
        if (attentionMask is null) return allowed.view(1, 1, t, tk);
        // A pad query would otherwise see no key at all and softmax would return NaN; it may see itself (its output is never read).
        var real = attentionMask.to(@bool).unsqueeze(1);                         // (B, 1, Tk)
        return allowed.logical_and(real.logical_or(key.eq(query))).unsqueeze(1);  // (B, 1, T, Tk)
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rotary.Dispose();
        base.Dispose(disposing);
    }
}
