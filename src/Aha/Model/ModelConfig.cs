using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Aha.Model;

/// <summary>
/// Shape and semantics of a Llama-style decoder, optionally with DeepSeek-V3's features (MLA, DeepSeekMoE, multi-token
/// prediction), each switched on by its own fields. Field names in config.json follow Hugging Face's <c>LlamaConfig</c>
/// and <c>DeepseekV3Config</c> (snake_case of these property names), so a checkpoint folder loads with
/// <c>AutoModelForCausalLM</c>; with every V3 feature off the file is exactly a Llama config.
/// </summary>
public sealed record ModelConfig
{
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
    /// <summary>q/k/v projections with bias (Qwen2); o_proj never has one.</summary>
    public bool AttentionBias { get; init; }
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

    [JsonIgnore] public int HeadDim => HiddenSize / NumAttentionHeads;
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
        if (UsesMla) ValidateMla(Require);
        else
        {
            Require(HiddenSize % NumAttentionHeads == 0, $"hidden_size ({HiddenSize}) must be a multiple of num_attention_heads ({NumAttentionHeads}).");
            Require(HeadDim % 2 == 0, $"head dim hidden_size/num_attention_heads = {HeadDim} must be even for rotary embeddings.");
            Require(NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads == 0,
                $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads}).");
        }
        if (UsesMoe) ValidateMoe(Require);
        Require(NumNextnPredictLayers >= 0, $"num_nextn_predict_layers must be 0 (off) or positive (got {NumNextnPredictLayers}).");
        Require(MaxPositionEmbeddings > 0, $"max_position_embeddings must be positive (got {MaxPositionEmbeddings}).");
        Require(RopeTheta > 0, $"rope_theta must be positive (got {RopeTheta}).");
        Require(RmsNormEps > 0, $"rms_norm_eps must be positive (got {RmsNormEps}).");
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

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    static readonly string[] DeepSeekKeys =
    [
        "q_lora_rank", "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim", "n_routed_experts", "n_shared_experts",
        "num_experts_per_tok", "moe_intermediate_size", "first_k_dense_replace", "routed_scaling_factor", "norm_topk_prob",
        "num_nextn_predict_layers",
    ];

    // Written for Hugging Face and checked on reading; not properties because Aha supports only these values.
    static readonly string[] FixedKeys =
        ["architectures", "model_type", "hidden_act", "mlp_bias", "torch_dtype", "head_dim", "scoring_func", "topk_method", "n_group", "topk_group", "rope_interleave"];

    /// <summary>Hugging Face config.json text: <c>LlamaForCausalLM</c>, or <c>DeepseekV3ForCausalLM</c> when any V3 feature is on.</summary>
    public string ToJson()
    {
        var node = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        if (!IsDeepSeekV3) foreach (var key in DeepSeekKeys) node.Remove(key);
        node["architectures"] = new JsonArray(IsDeepSeekV3 ? "DeepseekV3ForCausalLM" : "LlamaForCausalLM");
        node["model_type"] = IsDeepSeekV3 ? "deepseek_v3" : "llama";
        node["hidden_act"] = "silu";
        node["mlp_bias"] = false;
        node["torch_dtype"] = "float32";
        node["head_dim"] = RopeDim; // Hugging Face's DeepseekV3 sizes its rotary tables from head_dim; for Llama this is the head dim
        if (!IsDeepSeekV3) return node.ToJsonString(Json);
        node["q_lora_rank"] = QLoraRank is > 0 ? QLoraRank : null;
        node["scoring_func"] = "sigmoid";
        node["topk_method"] = "noaux_tc";
        node["n_group"] = 1;     // no group-limited routing
        node["topk_group"] = 1;
        node["rope_interleave"] = false; // Aha rotates halves (rotate_half); Hugging Face's V3 default is interleaved pairs
        // Hugging Face builds an MoE block in every layer from first_k_dense_replace on; all dense says "MoE off".
        if (!UsesMoe) node["first_k_dense_replace"] = NumHiddenLayers;
        return node.ToJsonString(Json);
    }

    /// <summary>Reads config.json text; <paramref name="source"/> names the file in error messages.</summary>
    public static ModelConfig FromJson(string json, string source = "config.json")
    {
        // A field of the wrong JSON kind (an object where a string goes) surfaces as InvalidOperationException from GetValue.
        // Validate's own ArgumentExceptions are already turned into InvalidDataException inside Parse.
        try { return Parse(json, source); }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            // ArgumentException: JsonObject reports a repeated key lazily, as a dictionary insert.
            throw new InvalidDataException($"{source}: a field has the wrong type or appears twice ({e.Message}). Re-save the checkpoint or fix the file.", e);
        }
    }

    static ModelConfig Parse(string json, string source)
    {
        JsonObject node;
        try { node = JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("empty document"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{source}: not a JSON object ({e.Message}). Re-save the checkpoint or fix the file.", e);
        }
        string type = node["model_type"]?.GetValue<string>() ?? "llama";
        if (type is not ("llama" or "deepseek_v3"))
            throw new InvalidDataException($"{source}: model_type '{type}' is not supported here; expected 'llama' or 'deepseek_v3'.");
        if (node["hidden_act"]?.GetValue<string>() is { } act && act != "silu")
            throw new InvalidDataException($"{source}: hidden_act '{act}' is not supported; expected 'silu'.");
        if (type == "llama" && node["head_dim"] is { } hd && node["hidden_size"] is { } hs && node["num_attention_heads"] is { } nh
            && hd.GetValue<int>() * nh.GetValue<int>() != hs.GetValue<int>())
            throw new InvalidDataException($"{source}: head_dim × num_attention_heads must equal hidden_size.");
        if (type == "deepseek_v3") CheckDeepSeekFixedValues(node, source);
        foreach (var key in FixedKeys) node.Remove(key);
        try
        {
            var config = node.Deserialize<ModelConfig>(Json) ?? throw new JsonException("null config");
            if (!config.UsesMoe) config = config with { FirstKDenseReplace = 0 }; // see ToJson: "all dense" written as L
            return config.Validate();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
    }

    static void CheckDeepSeekFixedValues(JsonObject node, string source)
    {
        void Require(bool ok, string message) { if (!ok) throw new InvalidDataException($"{source}: {message}"); }
        string? Text(string key) => node[key]?.GetValue<string>();
        int? Number(string key) => node[key]?.GetValue<int>();
        Require(Text("scoring_func") is null or "sigmoid", $"scoring_func '{Text("scoring_func")}' is not supported; Aha routes by sigmoid affinity ('sigmoid').");
        Require(Text("topk_method") is null or "noaux_tc", $"topk_method '{Text("topk_method")}' is not supported; expected 'noaux_tc' (bias-corrected top-k).");
        Require((Number("topk_group") ?? 1) >= (Number("n_group") ?? 1),
            $"group-limited routing (n_group {Number("n_group")}, topk_group {Number("topk_group")}) is not supported; set both to 1.");
        Require(node["rope_interleave"]?.GetValue<bool>() != true,
            "rope_interleave true (DeepSeek's released weights) is not supported; Aha rotates halves: set rope_interleave false.");
    }
}
