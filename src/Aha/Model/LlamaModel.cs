using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// A decoder-only transformer with exactly Hugging Face <c>LlamaForCausalLM</c> semantics and state-dict keys
/// (<c>model.embed_tokens.weight</c>, <c>model.layers.{i}.self_attn.q_proj.weight</c>, …, <c>lm_head.weight</c>).
/// With <see cref="ModelConfig.TieWordEmbeddings"/> the head reuses the embedding and there is no <c>lm_head.weight</c>.
/// </summary>
public sealed class LlamaModel : nn.Module
{
    [ComponentName(Name = "model")] LlamaBackbone _model;
    [ComponentName(Name = "lm_head")] Linear? _lmHead;

    /// <summary>Builds a model initialised like Hugging Face (normal, std 0.02; norms 1; biases and the pad row 0) from the global torch RNG.</summary>
    /// <param name="config">validated here</param>
    /// <param name="device">where parameters live; <c>meta</c> builds shapes only</param>
    public LlamaModel(ModelConfig config, Device? device = null) : base(nameof(LlamaModel))
    {
        Config = config.Validate();
        _model = new LlamaBackbone(config, device);
        if (!config.TieWordEmbeddings) _lmHead = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device);
        RegisterComponents();
        InitializeWeights();
    }

    public ModelConfig Config { get; }

    void InitializeWeights()
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else nn.init.normal_(p, 0, 0.02);
        }
        if (Config.PadTokenId is int pad) _model.EmbedTokens.Weight[pad].zero_();
    }

    /// <summary>Logits (B, T, V) for every position.</summary>
    /// <param name="inputIds">(B, T) int64 token ids</param>
    /// <param name="positionIds">(B, T) rotary positions; default: counted from the mask's real tokens, else cache length + 0..T−1</param>
    /// <param name="attentionMask">(B, cached + T), 1 = real token, 0 = pad (left padding); null = all real</param>
    /// <param name="cache">earlier keys and values; this call appends its own and advances the cache</param>
    public Tensor forward(Tensor inputIds, Tensor? positionIds = null, Tensor? attentionMask = null, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        return scope.MoveToOuter(Logits(Hidden(inputIds, positionIds, attentionMask, cache)));
    }

    /// <summary>Logits (B, V) for the last position only: what a decode step needs, skipping the head for the rest.</summary>
    public Tensor LastLogits(Tensor inputIds, Tensor? positionIds = null, Tensor? attentionMask = null, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        var hidden = Hidden(inputIds, positionIds, attentionMask, cache); // (B, T, C)
        return scope.MoveToOuter(Logits(hidden.select(1, hidden.shape[1] - 1)));
    }

    /// <summary>Final-normed hidden states (B, T, C), before the head; same arguments as <see cref="forward"/>.</summary>
    public Tensor Hidden(Tensor inputIds, Tensor? positionIds = null, Tensor? attentionMask = null, KvCache? cache = null) =>
        _model.forward(inputIds, positionIds, attentionMask, cache);

    /// <summary>Applies the (possibly tied) output head: (…, C) → (…, V).</summary>
    public Tensor Logits(Tensor hidden) =>
        _lmHead is null ? nn.functional.linear(hidden, _model.EmbedTokens.Weight) : _lmHead.forward(hidden);

    /// <summary>An empty KV cache for <paramref name="batch"/> rows of up to <paramref name="capacity"/> positions, on this model's device and dtype.</summary>
    public KvCache NewCache(int batch, int capacity)
    {
        var weight = _model.EmbedTokens.Weight;
        return new KvCache(Config, batch, capacity, weight.device, weight.dtype);
    }
}
