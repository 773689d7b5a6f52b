using System.Text.Json.Serialization;

namespace Aha.Model;

/// <summary>
/// Shape and semantics of a Llama-style decoder of one of the families Aha reads from a Hugging Face config.json —
/// <c>llama</c> (with Llama 3 RoPE scaling), <c>qwen2</c>, <c>qwen3</c>, <c>mistral</c> — optionally with DeepSeek-V3's
/// features (MLA, DeepSeekMoE, multi-token prediction), each switched on by its own fields. Field names in config.json
/// follow transformers' config classes (snake_case of these property names), so a checkpoint folder loads with
/// <c>AutoModelForCausalLM</c>; with every V3 feature off the file is exactly a config of <see cref="ModelType"/>.
/// </summary>
public sealed partial record ModelConfig
{
    /// <summary>The families Aha implements, by config.json <c>model_type</c>.</summary>
    public static IReadOnlyList<string> Families { get; } = ["llama", "qwen2", "qwen3", "mistral", "deepseek_v3"];

    /// <summary>
    /// The family (config.json <c>model_type</c>): llama, qwen2, qwen3 or mistral; deepseek_v3 is written whenever a V3
    /// feature is on. It picks the family's fixed choices: Qwen2's q/k/v biases, Qwen3's per-head q/k norms.
    /// </summary>
    [JsonIgnore] public string ModelType { get; init; } = "llama";
    public int VocabSize { get; init; } = 264;
    public int HiddenSize { get; init; } = 128;
    public int IntermediateSize { get; init; } = 344;
    public int NumHiddenLayers { get; init; } = 4;
    public int NumAttentionHeads { get; init; } = 4;
    public int NumKeyValueHeads { get; init; } = 4;
    public int MaxPositionEmbeddings { get; init; } = 256;
    public double RopeTheta { get; init; } = 10000.0;
    public double RmsNormEps { get; init; } = 1e-5;
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Biases on q/k/v/o (llama, qwen3; DeepSeek-V3's q_a/kv_a/o). Qwen2 always has q/k/v biases and no o bias, whatever this says.</summary>
    public bool AttentionBias { get; init; }
    /// <summary>Biases on gate/up/down (llama's mlp_bias).</summary>
    public bool MlpBias { get; init; }
    /// <summary>Llama 3 RoPE scaling; null = plain RoPE (rope_scaling null or type "default").</summary>
    [JsonIgnore] public RopeScaling? RopeScaling { get; init; }
    /// <summary>The dtype the weights are stored in (config.json <c>torch_dtype</c>): float32, bfloat16 or float16. Saves use it.</summary>
    [JsonIgnore] public string TorchDtype { get; init; } = "float32";
    /// <summary>
    /// The key(s) config.json spells the storage dtype with, written back the same way: <c>torch_dtype</c> (transformers
    /// before 4.56), <c>dtype</c> (4.56 on, transformers PR #39782), or both when the input had both.
    /// </summary>
    [JsonIgnore] public IReadOnlyList<string> DtypeKeys { get; init; } = ["torch_dtype"];
    /// <summary>
    /// config.json fields Aha reads past (checked harmless) and writes back verbatim, name → JSON text, so a saved
    /// fine-tune carries the same fields as its input (use_cache, sliding_window with the window off, transformers_version, …).
    /// </summary>
    [JsonIgnore] public IReadOnlyDictionary<string, string> PassThrough { get; init; } = new Dictionary<string, string>();
    /// <summary>
    /// A reward (or value) model: the trunk with a scalar head <c>score</c> instead of <c>lm_head</c>, written as
    /// <c>{Family}ForSequenceClassification</c> with <c>num_labels</c> 1 (config.json <c>architectures</c>).
    /// </summary>
    [JsonIgnore] public bool SequenceClassification { get; init; }
    public int BosTokenId { get; init; } = 256;
    public int EosTokenId { get; init; } = 257;
    public int? PadTokenId { get; init; } = 258;

    // DeepSeek-V3, Multi-head Latent Attention: on when kv_lora_rank is set.
    /// <summary>Rank of the compressed query; null or 0 = a plain <c>q_proj</c> (MLA only).</summary>
    public int? QLoraRank { get; init; }
    /// <summary>d_c, the latent from which keys and values are up-projected; setting it switches MLA on.</summary>
    public int? KvLoraRank { get; init; }
    /// <summary>d_R, the decoupled RoPE dimension of each query head and of the one key shared by all heads.</summary>
    public int? QkRopeHeadDim { get; init; }
    /// <summary>Per-head query/key dimension without position information.</summary>
    public int? QkNopeHeadDim { get; init; }
    public int? VHeadDim { get; init; }

    // DeepSeekMoE: on when n_routed_experts is set.
    /// <summary>Fine-grained routed experts per MoE layer; setting it switches MoE on.</summary>
    public int? NRoutedExperts { get; init; }
    /// <summary>Always-on experts, fused into one MLP of width moe_intermediate_size × n_shared_experts (0 = none).</summary>
    public int NSharedExperts { get; init; } = 1;
    /// <summary>K, routed experts chosen per token.</summary>
    public int? NumExpertsPerTok { get; init; }
    /// <summary>Width of each routed (and shared) expert.</summary>
    public int? MoeIntermediateSize { get; init; }
    /// <summary>The first this-many layers keep a dense MLP of width intermediate_size.</summary>
    public int FirstKDenseReplace { get; init; }
    /// <summary>Multiplies the gate values after normalisation (DeepSeek-V3: 2.5).</summary>
    public double RoutedScalingFactor { get; init; } = 1.0;
    /// <summary>Normalise the chosen experts' sigmoid affinities to sum to one.</summary>
    public bool NormTopkProb { get; init; } = true;

    /// <summary>D, sequential multi-token-prediction modules (DeepSeek-V3: 1); 0 = off. Used in training only.</summary>
    public int NumNextnPredictLayers { get; init; }

    readonly int? _headDim;
    /// <summary>Per-head width of q/k/v: config.json head_dim when given (Qwen3, Llama 3.2 may differ from hidden/heads), else hidden_size / num_attention_heads.</summary>
    [JsonIgnore] public int HeadDim { get => _headDim ?? HiddenSize / Math.Max(1, NumAttentionHeads); init => _headDim = value; }
    /// <summary>The tensor dtype of <see cref="TorchDtype"/>, in which checkpoints of this model are saved.</summary>
    [JsonIgnore] public TorchSharp.torch.ScalarType StorageDtype => TorchDtype switch
    {
        "bfloat16" => TorchSharp.torch.ScalarType.BFloat16,
        "float16" => TorchSharp.torch.ScalarType.Float16,
        _ => TorchSharp.torch.ScalarType.Float32,
    };
    /// <summary>Whether head_dim was given rather than derived.</summary>
    [JsonIgnore] public bool HasExplicitHeadDim => _headDim is not null;
    /// <summary>q/k/v projections carry a bias: attention_bias, or always in Qwen2.</summary>
    [JsonIgnore] public bool QkvBias => AttentionBias || ModelType == "qwen2";
    /// <summary>o_proj carries a bias: attention_bias, except in Qwen2 (never).</summary>
    [JsonIgnore] public bool OutputBias => AttentionBias && ModelType != "qwen2";
    /// <summary>Qwen3's RMSNorm over head_dim of each query and key head before RoPE (q_norm, k_norm).</summary>
    [JsonIgnore] public bool UsesQkNorm => ModelType == "qwen3";
    [JsonIgnore] public bool UsesMla => KvLoraRank is > 0;
    [JsonIgnore] public bool UsesMoe => NRoutedExperts is > 0;
    [JsonIgnore] public bool UsesMtp => NumNextnPredictLayers > 0;
    /// <summary>Any DeepSeek-V3 feature on: config.json is then a <c>DeepseekV3ForCausalLM</c> one.</summary>
    [JsonIgnore] public bool IsDeepSeekV3 => UsesMla || UsesMoe || UsesMtp;
    /// <summary>Width of the rotary tables: the decoupled RoPE dimension under MLA, else the head dimension.</summary>
    [JsonIgnore] public int RopeDim => UsesMla ? QkRopeHeadDim!.Value : HeadDim;
    /// <summary>Whether decoder layer <paramref name="layer"/> (MTP layers count on from num_hidden_layers) has routed experts.</summary>
    public bool IsMoeLayer(int layer) => UsesMoe && layer >= FirstKDenseReplace;

    /// <summary>Throws with a message naming the field and the fix when the shape is inconsistent.</summary>
    public ModelConfig Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"model config: {message}"); }
        Require(VocabSize > 0, $"vocab_size must be positive (got {VocabSize}).");
        Require(HiddenSize > 0, $"hidden_size must be positive (got {HiddenSize}).");
        Require(IntermediateSize > 0, $"intermediate_size must be positive (got {IntermediateSize}).");
        Require(NumHiddenLayers > 0, $"num_hidden_layers must be positive (got {NumHiddenLayers}).");
        Require(NumAttentionHeads > 0, $"num_attention_heads must be positive (got {NumAttentionHeads}).");
        Require(Families.Contains(ModelType), $"model_type '{ModelType}' is not a family Aha implements ({string.Join(", ", Families)}).");
        Require(TorchDtype is "float32" or "bfloat16" or "float16", $"torch_dtype '{TorchDtype}' is not supported; use float32, bfloat16 or float16.");
        if (UsesMla) ValidateMla(Require);
        else
        {
            Require(_headDim is not null || HiddenSize % NumAttentionHeads == 0,
                $"hidden_size ({HiddenSize}) must be a multiple of num_attention_heads ({NumAttentionHeads}), or head_dim must be given.");
            Require(HeadDim > 0 && HeadDim % 2 == 0, $"head_dim = {HeadDim} must be a positive even number for rotary embeddings.");
            Require(NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads == 0,
                $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads}).");
        }
        if (UsesMoe) ValidateMoe(Require);
        Require(!SequenceClassification || PadTokenId is not null,
            "a ForSequenceClassification model needs pad_token_id: its score is read at the last token that is not padding. Set pad_token_id in config.json.");
        Require(!SequenceClassification || !IsDeepSeekV3, "reward models here are llama, qwen2, qwen3 or mistral trunks; this config switches on DeepSeek-V3 features.");
        Require(NumNextnPredictLayers >= 0, $"num_nextn_predict_layers must be 0 (off) or positive (got {NumNextnPredictLayers}).");
        Require(MaxPositionEmbeddings > 0, $"max_position_embeddings must be positive (got {MaxPositionEmbeddings}).");
        Require(RopeTheta > 0, $"rope_theta must be positive (got {RopeTheta}).");
        Require(RmsNormEps > 0, $"rms_norm_eps must be positive (got {RmsNormEps}).");
        if (RopeScaling is { } r)
            Require(r.Factor >= 1 && r.LowFreqFactor > 0 && r.HighFreqFactor > r.LowFreqFactor && r.OriginalMaxPositionEmbeddings > 0,
                $"rope_scaling (llama3) needs factor >= 1, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0 " +
                $"(got factor {r.Factor}, low {r.LowFreqFactor}, high {r.HighFreqFactor}, original {r.OriginalMaxPositionEmbeddings}).");
        foreach (var (name, id) in new[] { ("bos_token_id", BosTokenId), ("eos_token_id", EosTokenId), ("pad_token_id", PadTokenId ?? 0) })
            Require(id >= 0 && id < VocabSize, $"{name} = {id} is outside the vocabulary [0, {VocabSize}).");
        return this;
    }

    void ValidateMla(Action<bool, string> require)
    {
        const string hint = "MLA is on because kv_lora_rank is set";
        require(QkRopeHeadDim is > 0 && QkRopeHeadDim % 2 == 0,
            $"{hint}; qk_rope_head_dim must be a positive even number (got {Show(QkRopeHeadDim)}; DeepSeek-V3 uses 64, a small model half its head dim).");
        require(QkNopeHeadDim is > 0, $"{hint}; qk_nope_head_dim must be positive (got {Show(QkNopeHeadDim)}; DeepSeek-V3 uses 128).");
        require(VHeadDim is > 0, $"{hint}; v_head_dim must be positive (got {Show(VHeadDim)}; DeepSeek-V3 uses 128).");
        require(QLoraRank is null or >= 0, $"q_lora_rank must be null or 0 (plain q_proj) or positive (got {QLoraRank}).");
    }

    void ValidateMoe(Action<bool, string> require)
    {
        const string hint = "MoE is on because n_routed_experts is set";
        require(NumExpertsPerTok is > 0 && NumExpertsPerTok <= NRoutedExperts,
            $"{hint}; num_experts_per_tok must be in [1, n_routed_experts = {NRoutedExperts}] (got {Show(NumExpertsPerTok)}).");
        require(MoeIntermediateSize is > 0, $"{hint}; moe_intermediate_size must be positive (got {Show(MoeIntermediateSize)}).");
        require(NSharedExperts >= 0, $"n_shared_experts must be 0 or positive (got {NSharedExperts}).");
        require(FirstKDenseReplace >= 0 && FirstKDenseReplace <= NumHiddenLayers,
            $"first_k_dense_replace must be in [0, num_hidden_layers = {NumHiddenLayers}] (got {FirstKDenseReplace}).");
        require(RoutedScalingFactor > 0, $"routed_scaling_factor must be positive (got {RoutedScalingFactor}).");
    }

    static string Show(int? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null";
}
