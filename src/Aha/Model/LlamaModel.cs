using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// A decoder-only transformer with exactly Hugging Face <c>LlamaForCausalLM</c> semantics and state-dict keys
/// (<c>model.embed_tokens.weight</c>, <c>model.layers.{i}.self_attn.q_proj.weight</c>, …, <c>lm_head.weight</c>).
/// With <see cref="ModelConfig.TieWordEmbeddings"/> the head reuses the embedding and there is no <c>lm_head.weight</c>.
/// The config's DeepSeek-V3 fields swap in Multi-head Latent Attention, DeepSeekMoE and multi-token-prediction modules
/// under <c>DeepseekV3ForCausalLM</c>'s keys; the methods below behave the same for every variant.
/// </summary>
public sealed class LlamaModel : nn.Module
{
    [ComponentName(Name = "model")] LlamaBackbone _model;
    [ComponentName(Name = "lm_head")] Linear? _lmHead;
    [ComponentName(Name = "score")] Linear? _score; // reward/value models (*ForSequenceClassification): one number per position

    /// <summary>Builds a model initialised like Hugging Face (normal, std 0.02; norms 1; biases and the pad row 0) from the global torch RNG.</summary>
    /// <param name="config">validated here</param>
    /// <param name="device">where parameters live; <c>meta</c> builds shapes only</param>
    /// <param name="initialize">false skips Hugging Face's initialisation, for a model whose every weight is loaded next</param>
    public LlamaModel(ModelConfig config, Device? device = null, bool initialize = true) : base(nameof(LlamaModel))
    {
        Config = config.Validate();
        _model = new LlamaBackbone(config, device);
        // A reward model has the scalar head instead of the LM head, as transformers' *ForSequenceClassification (no lm_head key).
        if (config.SequenceClassification) _score = nn.Linear(config.HiddenSize, 1, hasBias: false, device: device);
        else if (!config.TieWordEmbeddings) _lmHead = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device);
        RegisterComponents();
        if (initialize) InitializeWeights();
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
        if (Fused is { } fused && inputIds.shape[0] <= FusedDecodeMaxRows && fused.Applies(inputIds, cache)) return fused.Step(inputIds, positionIds, attentionMask, cache!);
        using var scope = NewDisposeScope();
        var hidden = Hidden(inputIds, positionIds, attentionMask, cache); // (B, T, C)
        return scope.MoveToOuter(Logits(hidden.select(1, hidden.shape[1] - 1)));
    }

    /// <summary>
    /// Decode steps (one new token per row over a cache, no autograd, CPU) of llama/qwen2/qwen3/mistral models run as one
    /// fused C# pass (<see cref="FusedDecoder"/>) instead of hundreds of libtorch calls; on by default, off with
    /// <c>AHA_FUSED_DECODE=0</c> or by setting this false. DeepSeek-V3 models, LoRA-attached models and everything else
    /// take libtorch's path either way.
    /// </summary>
    public bool FusedDecode { get; set; } = Environment.GetEnvironmentVariable("AHA_FUSED_DECODE") != "0";

    /// <summary>The fused path's instruction set (default: the widest the CPU has; <c>AHA_DECODE_ISA</c>=portable|avx2|avx512 pins one).</summary>
    public DecodeIsa DecodeIsa
    {
        get => Decoder.Isa;
        set => Decoder.Isa = value;
    }

    /// <summary>
    /// The weights the fused path streams: the model's fp32 tensors (default), or a bf16 copy made now — half the bytes a
    /// token, logits within bf16 rounding of fp32. The copy does not follow later weight changes: set it again after training.
    /// </summary>
    public DecodeWeights DecodeWeights
    {
        get => Decoder.Weights;
        set => Decoder.Use(value);
    }

    FusedDecoder? _decoder;
    FusedDecoder Decoder => _decoder ??= new FusedDecoder(_model, Config, () => _lmHead?.weight ?? _model.EmbedTokens.Weight)
    {
        Isa = Environment.GetEnvironmentVariable("AHA_DECODE_ISA") is { Length: > 0 } isa
            ? Enum.TryParse<DecodeIsa>(isa, ignoreCase: true, out var chosen) && DecodeKernels.Available.Contains(chosen) ? chosen
                : throw new ArgumentException($"AHA_DECODE_ISA='{isa}': this CPU runs {string.Join(", ", DecodeKernels.Available)}; set one of those or unset it.")
            : DecodeKernels.Best,
    };

    /// <summary>Decode steps the fused path has run (for tests: proof that it ran).</summary>
    internal long FusedSteps => _decoder?.Steps ?? 0;

    /// <summary>
    /// The most rows a decode step may have to take the fused path (default: any number; <c>AHA_FUSED_DECODE_MAX_ROWS</c>
    /// sets a limit, above which libtorch's path runs). Measured on this 2-core machine, the fused path beat libtorch's
    /// at every batch tried: 1.9× at 64 rows on the bench model, 2.3× for GRPO's 128 rollouts at the demo's shape (dev/log/decode.md).
    /// </summary>
    public int FusedDecodeMaxRows { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("AHA_FUSED_DECODE_MAX_ROWS"), out int rows) && rows > 0 ? rows : int.MaxValue;

    FusedDecoder? Fused => FusedDecode && Lora is null && _score is null && FusedDecoder.Covers(Config) ? Decoder : null;

    /// <summary>Final-normed hidden states (B, T, C), before the head; same arguments as <see cref="forward"/>.</summary>
    public Tensor Hidden(Tensor inputIds, Tensor? positionIds = null, Tensor? attentionMask = null, KvCache? cache = null) =>
        _model.forward(inputIds, positionIds, attentionMask, cache);

    /// <summary>Applies the (possibly tied) output head: (…, C) → (…, V).</summary>
    public Tensor Logits(Tensor hidden) =>
        _score is not null ? throw new InvalidOperationException("this is a reward model (score head, no language-model head): it scores sequences, it does not predict tokens.")
        : _lmHead is null ? SkinnyLinear.Forward(hidden, _model.EmbedTokens.Weight) : SkinnyLinear.Forward(_lmHead, hidden);

    /// <summary>
    /// A reward model's head at every position, float32 (B, T): at position t the value of the sequence up to token t
    /// (PPO's value model reads it per token). Right padding needs no mask: causal attention keeps real tokens from pads.
    /// </summary>
    public Tensor TokenScores(Tensor inputIds)
    {
        var head = _score ?? throw new InvalidOperationException("this model has no score head; build it from a config with SequenceClassification (a reward model).");
        using var scope = NewDisposeScope();
        var hidden = Hidden(inputIds);                                  // (B, T, C)
        return scope.MoveToOuter(head.forward(hidden).squeeze(-1).to(float32)); // (B, T)
    }

    /// <summary>
    /// The reward of each row (B): the head at the last token that is not <c>pad_token_id</c>, exactly as transformers'
    /// <c>*ForSequenceClassification</c> picks it (rightmost non-pad position; rows are right-padded).
    /// </summary>
    public Tensor Scores(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var perToken = TokenScores(inputIds);                                                    // (B, T)
        var positions = arange(inputIds.shape[1], dtype: int64, device: inputIds.device);       // (T)
        var last = (positions * inputIds.ne(Config.PadTokenId!.Value).to(int64)).argmax(-1);     // (B)
        return scope.MoveToOuter(perToken.gather(1, last.unsqueeze(1)).squeeze(1));
    }

    /// <summary>
    /// Logits plus the weighted auxiliary losses of a training step. Autograd on, so MoE loads are counted for
    /// <see cref="UpdateRouterBias"/>.
    /// </summary>
    /// <param name="inputIds">(B, T)</param>
    /// <param name="targets">(B, T) the next token at each position (<paramref name="ignoreIndex"/> = no target), as the main loss uses them</param>
    /// <param name="mtpWeight">λ for the multi-token-prediction loss (DeepSeek-V3: 0.3, later 0.1); 0 skips the MTP modules</param>
    /// <param name="balanceWeight">α for the sequence-wise balance loss (DeepSeek-V3: 1e-4); 0 skips it</param>
    /// <param name="attentionMask">(B, T) 1 = real, 0 = left pad</param>
    public TrainingForward ForwardWithLosses(Tensor inputIds, Tensor targets, double mtpWeight = 0, double balanceWeight = 0,
        Tensor? attentionMask = null, long ignoreIndex = -100)
    {
        if (targets.shape.Length != 2 || targets.shape[0] != inputIds.shape[0] || targets.shape[1] != inputIds.shape[1])
            throw new ArgumentException($"targets have shape [{string.Join(", ", targets.shape)}]; expected the input's [{string.Join(", ", inputIds.shape)}].", nameof(targets));
        using var scope = NewDisposeScope();
        var losses = balanceWeight > 0 && Config.UsesMoe ? new RouterLosses(balanceWeight) : null;
        var hidden = _model.forward(inputIds, null, attentionMask, null, losses); // (B, T, C)
        var logits = Logits(hidden);                                              // (B, T, V)
        var mtpLoss = zeros([], float32, inputIds.device);
        if (mtpWeight != 0 && Config.UsesMtp)
        {
            var previous = hidden; // h^0: the main model's final-normed output
            long t = inputIds.shape[1];
            int pad = Config.PadTokenId ?? Config.EosTokenId;
            for (int k = 1; k <= _model.MtpDepth && t - k > 0; k++)
            {
                long n = t - k;                                                  // positions that still have a token k+1 ahead
                var ahead = targets.narrow(1, k - 1, n);                         // (B, n) token i+k, fed in
                var wanted = targets.narrow(1, k, n);                            // (B, n) token i+k+1, predicted
                ahead = where(ahead.eq(ignoreIndex), full_like(ahead, pad), ahead);
                previous = _model.Mtp(k - 1, previous.narrow(1, 0, n), ahead, attentionMask?.narrow(1, 0, n), losses); // (B, n, C)
                var mtpLogits = Logits(_model.MtpNormed(k - 1, previous)).to(float32);                                 // (B, n, V)
                mtpLoss = mtpLoss + nn.functional.cross_entropy(mtpLogits.reshape(-1, Config.VocabSize), wanted.reshape(-1), ignore_index: ignoreIndex);
            }
            mtpLoss = mtpLoss * (mtpWeight / _model.MtpDepth);
        }
        var balanceLoss = losses?.Total(inputIds.device) ?? zeros([], float32, inputIds.device);
        return new TrainingForward(scope.MoveToOuter(logits), scope.MoveToOuter(mtpLoss), scope.MoveToOuter(balanceLoss));
    }

    /// <summary>Tokens routed to each expert, per MoE layer, since the last <see cref="UpdateRouterBias"/> (counted while autograd is on).</summary>
    public IReadOnlyList<ExpertLoad> ExpertLoads() =>
        _model.MoeBlocks.Select(b => new ExpertLoad(b.Layer, b.Moe.Router.Load)).ToList();

    /// <summary>
    /// Auxiliary-loss-free balancing: call after each optimiser step. Every expert's bias moves by γ toward the mean load
    /// (down if it took more tokens than the mean, up if fewer; DeepSeek-V3: γ = 0.001), then the counts restart.
    /// γ = 0 only reads and resets the counts. Returns the loads used, to log max/mean per layer. Empty without MoE.
    /// </summary>
    public IReadOnlyList<ExpertLoad> UpdateRouterBias(double gamma) =>
        _model.MoeBlocks.Select(b => new ExpertLoad(b.Layer, b.Moe.Router.UpdateBias(gamma))).ToList();

    /// <summary>
    /// MLA only: decode steps over a cache attend in latent space with kv_b_proj absorbed into query and output (default),
    /// instead of expanding every cached latent to per-head keys and values. Both give the same logits up to float rounding.
    /// </summary>
    public bool AbsorbMlaForDecode
    {
        get => modules().OfType<MlaAttention>().All(a => a.AbsorbForDecode);
        set { foreach (var attention in modules().OfType<MlaAttention>()) attention.AbsorbForDecode = value; }
    }

    /// <summary>The LoRA adapters attached by <see cref="AttachLora"/>, or null for a plain model.</summary>
    public LoraAdapters? Lora { get; private set; }

    /// <summary>What a trainer optimises: the adapters of a LoRA run, else the whole model.</summary>
    public nn.Module Trainable => (nn.Module?)Lora ?? this;

    /// <summary>
    /// Attaches fresh LoRA adapters (B = 0: the model computes exactly what it did) and freezes every base parameter
    /// (requires_grad false), so only the adapters train. Llama, Qwen2/3 and Mistral layers; not DeepSeek-V3's MLA/MoE.
    /// </summary>
    public LoraAdapters AttachLora(LoraConfig config)
    {
        if (Lora is not null) throw new InvalidOperationException("this model already has LoRA adapters attached.");
        if (Config.IsDeepSeekV3)
            throw new NotSupportedException($"LoRA here adapts llama, qwen2, qwen3 and mistral layers; this {Config.ModelType} model uses MLA/MoE/MTP. Drop --lora-rank to train every weight.");
        config.Validate();
        var shapes = _model.Decoder.Select(layer => (IReadOnlyDictionary<string, (long, long)>)Projections(layer)
            .ToDictionary(p => p.Name, p => (p.Layer.weight!.shape[1], p.Layer.weight!.shape[0]))).ToList();
        var adapters = new LoraAdapters(shapes, config, _model.EmbedTokens.Weight.device);
        for (int i = 0; i < _model.Decoder.Count; i++)
        {
            ((LlamaAttention)_model.Decoder[i].SelfAttention).Lora = adapters.Layer(i);
            ((LlamaMlp)_model.Decoder[i].FeedForward).Lora = adapters.Layer(i);
        }
        foreach (var p in parameters()) p.requires_grad = false;
        return Lora = adapters;
    }

    /// <summary>
    /// Folds the adapters into the base weights, W ← W + (α/r)·B·A (computed in fp32, stored in W's dtype), and detaches
    /// them: the model is a plain one again, computing what base + adapter did up to the storage dtype's rounding.
    /// </summary>
    public void MergeLora()
    {
        var adapters = Lora ?? throw new InvalidOperationException("no LoRA adapters attached: nothing to merge.");
        using var noGrad = no_grad();
        for (int i = 0; i < _model.Decoder.Count; i++)
        {
            var layer = adapters.Layer(i);
            var projections = Projections(_model.Decoder[i]).ToDictionary(p => p.Name, p => p.Layer);
            foreach (var (target, adapter) in layer.Adapters)
            {
                using var scope = NewDisposeScope();
                var weight = projections[target].weight!;
                var delta = adapter.B.matmul(adapter.A) * adapters.Config.Scaling; // (out, in)
                weight.copy_(weight.to(float32) + delta);
            }
            ((LlamaAttention)_model.Decoder[i].SelfAttention).Lora = null;
            ((LlamaMlp)_model.Decoder[i].FeedForward).Lora = null;
        }
        foreach (var p in parameters()) p.requires_grad = true;
        Lora = null;
        adapters.Dispose();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Lora?.Dispose();
            _decoder?.Dispose();
        }
        base.Dispose(disposing);
    }

    static IEnumerable<(string Name, Linear Layer)> Projections(LlamaDecoderLayer layer) =>
        ((LlamaAttention)layer.SelfAttention).Projections.Concat(((LlamaMlp)layer.FeedForward).Projections);

    /// <summary>An empty cache (keys and values, or MLA's latent and RoPE key) for <paramref name="batch"/> rows of up to <paramref name="capacity"/> positions, on this model's device and dtype.</summary>
    public KvCache NewCache(int batch, int capacity)
    {
        var weight = _model.EmbedTokens.Weight;
        return new KvCache(Config, batch, capacity, weight.device, weight.dtype);
    }
}
