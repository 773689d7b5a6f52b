using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aha.Model;

// config.json reading and writing: transformers' field names per family, refusing any option that would make a
// silently different model, and carrying harmless unknown fields through to the saved copy.
public sealed partial record ModelConfig
{
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

    // Modelled by hand (not properties' own JSON) or written fixed; never passed through.
    static readonly string[] HandledKeys =
    [
        "architectures", "model_type", "hidden_act", "torch_dtype", "dtype", "head_dim", "rope_scaling",
        "scoring_func", "topk_method", "n_group", "topk_group", "rope_interleave", "num_labels", "id2label", "label2id",
    ];

    static readonly Dictionary<string, string> Architectures = new()
    {
        ["llama"] = "LlamaForCausalLM", ["qwen2"] = "Qwen2ForCausalLM", ["qwen3"] = "Qwen3ForCausalLM",
        ["mistral"] = "MistralForCausalLM", ["deepseek_v3"] = "DeepseekV3ForCausalLM",
    };

    /// <summary>Two configs are equal when they write the same config.json (the pass-through fields compared by content).</summary>
    public bool Equals(ModelConfig? other) => other is not null && ToJson() == other.ToJson();

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToJson());

    /// <summary>Hugging Face config.json text of this family (<see cref="ModelType"/>, or deepseek_v3 when any V3 feature is on).</summary>
    public string ToJson()
    {
        var node = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        string family = IsDeepSeekV3 ? "deepseek_v3" : ModelType;
        if (!IsDeepSeekV3) foreach (var key in DeepSeekKeys) node.Remove(key);
        string causal = Architectures.GetValueOrDefault(family, family);
        node["architectures"] = new JsonArray(SequenceClassification ? causal.Replace("ForCausalLM", "ForSequenceClassification", StringComparison.Ordinal) : causal);
        if (SequenceClassification)
        {
            // One label, as transformers writes a reward model (num_labels 1 ⇔ a single id2label entry).
            node["num_labels"] = 1;
            node["id2label"] = new JsonObject { ["0"] = "LABEL_0" };
            node["label2id"] = new JsonObject { ["LABEL_0"] = 0 };
        }
        node["model_type"] = family;
        node["hidden_act"] = "silu";
        foreach (var key in DtypeKeys) node[key] = TorchDtype;
        if (family is "qwen2" or "mistral") node.Remove("attention_bias"); // Qwen2's biases are fixed; Mistral has none
        if (family is "llama" or "deepseek_v3") node["mlp_bias"] = MlpBias;
        else node.Remove("mlp_bias");
        if (PadTokenId is null) node.Remove("pad_token_id"); // Qwen's and Llama 3's configs omit it: no padding row
        // Hugging Face's DeepseekV3 sizes its rotary tables from head_dim; Qwen2 derives it unless the file gave one.
        if (family != "qwen2" || HasExplicitHeadDim) node["head_dim"] = RopeDim;
        if (RopeScaling is not null) node["rope_scaling"] = RopeScalingNode(); // "rope_scaling": null rides in PassThrough
        foreach (var (key, text) in PassThrough)
            if (!(key == "rope_scaling" && RopeScaling is not null) && !(key == "pad_token_id" && PadTokenId is not null)) node[key] = JsonNode.Parse(text);
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

    JsonObject? RopeScalingNode() => RopeScaling is not { } r ? null : new JsonObject
    {
        ["factor"] = r.Factor, ["high_freq_factor"] = r.HighFreqFactor, ["low_freq_factor"] = r.LowFreqFactor,
        ["original_max_position_embeddings"] = r.OriginalMaxPositionEmbeddings, ["rope_type"] = RopeScaling.Llama3,
    };

    /// <summary>Reads config.json text; <paramref name="source"/> names the file in error messages.</summary>
    public static ModelConfig FromJson(string json, string source = "config.json")
    {
        JsonObject node;
        try { node = JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("empty document"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{source}: not a JSON object ({e.Message}). Re-save the checkpoint or fix the file.", e);
        }
        void Require(bool ok, string message) { if (!ok) throw new InvalidDataException($"{source}: {message}"); }
        try
        {
            string type = node["model_type"]?.GetValue<string>() ?? "llama";
            Require(Families.Contains(type),
                $"model_type '{type}' is not supported; Aha implements {string.Join(", ", Families)}. Use a checkpoint of one of those families.");
            if (node["hidden_act"]?.GetValue<string>() is { } act)
                Require(act == "silu", $"hidden_act '{act}' is not supported; every family here uses 'silu'.");
            CheckUnsupported(node, type, Require);
            if (type == "deepseek_v3") CheckDeepSeekFixedValues(node, Require);
            var rope = ReadRopeScaling(node, type, Require);
            string dtype = (node["torch_dtype"] ?? node["dtype"])?.GetValue<string>() ?? "float32";
            string[] dtypeKeys = [.. new[] { "torch_dtype", "dtype" }.Where(node.ContainsKey)];
            if (node["torch_dtype"] is { } td && node["dtype"] is { } d2 && td.GetValue<string>() != d2.GetValue<string>())
                Require(false, $"torch_dtype '{td}' and dtype '{d2}' disagree; keep one (transformers 4.56+ writes dtype).");
            int? headDim = type != "deepseek_v3" && node["head_dim"] is { } hd ? hd.GetValue<int>() : null;
            var passThrough = new Dictionary<string, string>();
            if (node["eos_token_id"] is JsonArray eos) // Llama 3 instruct lists several; the first is the model's EOS
            {
                Require(eos.Count > 0, "eos_token_id is an empty list; give at least one id.");
                passThrough["eos_token_id"] = eos.ToJsonString();
                node["eos_token_id"] = eos[0]!.GetValue<int>();
            }
            bool padGiven = node.ContainsKey("pad_token_id");
            bool scoreHead = node["architectures"] is JsonArray archs && archs.Count > 0
                && archs[0]?.GetValue<string>().EndsWith("ForSequenceClassification", StringComparison.Ordinal) == true;
            if (scoreHead)
            {
                int labels = node["num_labels"]?.GetValue<int>() ?? (node["id2label"] as JsonObject)?.Count ?? 2;
                Require(labels == 1, $"a ForSequenceClassification model with {labels} labels is a classifier; Aha reads reward models (num_labels 1).");
            }
            var known = typeof(ModelConfig).GetProperties()
                .Where(p => p.CanWrite && !Attribute.IsDefined(p, typeof(System.Text.Json.Serialization.JsonIgnoreAttribute)))
                .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)).Concat(HandledKeys).ToHashSet();
            foreach (var (key, value) in node)
                if (!known.Contains(key)) passThrough[key] = value?.ToJsonString() ?? "null";
            // Written as the input wrote them when they say "nothing": "rope_scaling": null (or type default), "pad_token_id": null.
            if (rope is null && node.ContainsKey("rope_scaling")) passThrough["rope_scaling"] = node["rope_scaling"]?.ToJsonString() ?? "null";
            if (node.ContainsKey("pad_token_id") && node["pad_token_id"] is null) passThrough["pad_token_id"] = "null";
            foreach (var key in HandledKeys) node.Remove(key);
            if (type is "qwen2" or "mistral") node.Remove("attention_bias");
            var config = node.Deserialize<ModelConfig>(Json) ?? throw new JsonException("null config");
            config = config with { ModelType = type == "deepseek_v3" ? "llama" : type, RopeScaling = rope, TorchDtype = dtype, PassThrough = passThrough, SequenceClassification = scoreHead, DtypeKeys = dtypeKeys.Length > 0 ? dtypeKeys : ["torch_dtype"] };
            if (node["num_key_value_heads"] is null) config = config with { NumKeyValueHeads = config.NumAttentionHeads }; // transformers' default
            if (!padGiven) config = config with { PadTokenId = null };
            if (headDim is int d) config = config with { HeadDim = d };
            if (!config.UsesMoe) config = config with { FirstKDenseReplace = 0 }; // see ToJson: "all dense" written as L
            return config.Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
    }

    static RopeScaling? ReadRopeScaling(JsonObject node, string type, Action<bool, string> require)
    {
        require(!node.ContainsKey("rope_parameters"),
            "rope_parameters (the transformers 5 layout) is not read here; write rope_theta and rope_scaling at the top level as transformers 4 does.");
        if (node["rope_scaling"] is not JsonObject scaling) return null; // null or absent: plain RoPE
        string ropeType = (scaling["rope_type"] ?? scaling["type"])?.GetValue<string>() ?? "default";
        if (ropeType == "default") return null;
        require(ropeType == RopeScaling.Llama3 && type != "deepseek_v3",
            $"rope_scaling.rope_type '{ropeType}' is not supported{(type == "deepseek_v3" ? " for deepseek_v3" : "")}; Aha implements 'default' and 'llama3'. " +
            "A checkpoint that needs it would give different logits here.");
        double Number(string key)
        {
            require(scaling[key] is not null,
                $"rope_scaling.{key} is missing; rope_type 'llama3' needs factor, low_freq_factor, high_freq_factor and original_max_position_embeddings.");
            return scaling[key]!.GetValue<double>();
        }
        foreach (var (key, _) in scaling)
            require(key is "rope_type" or "type" or "factor" or "low_freq_factor" or "high_freq_factor" or "original_max_position_embeddings",
                $"rope_scaling.{key} is not supported with rope_type 'llama3' (it would change the rotary frequencies).");
        return new RopeScaling(Number("factor"), Number("low_freq_factor"), Number("high_freq_factor"), (int)Number("original_max_position_embeddings"));
    }

    // Options transformers honours that Aha does not implement: each would make a different model, so each is refused.
    static void CheckUnsupported(JsonObject node, string type, Action<bool, string> require)
    {
        int maxPositions = node["max_position_embeddings"]?.GetValue<int>() ?? 0;
        int layers = node["num_hidden_layers"]?.GetValue<int>() ?? 0;
        int? window = node["sliding_window"] is { } w ? w.GetValue<int>() : null;
        bool windowOn = type switch
        {
            // Qwen2/3 slide only with use_sliding_window, and only in layers from max_window_layers on.
            "qwen2" or "qwen3" => node["use_sliding_window"]?.GetValue<bool>() == true && window is int n && n < maxPositions
                                  && (node["max_window_layers"]?.GetValue<int>() ?? 0) < layers,
            "mistral" => window is int m && m < maxPositions,
            _ => false,
        };
        require(!windowOn, $"sliding_window {window} is in use (shorter than max_position_embeddings {maxPositions}" +
            (type == "mistral" ? "" : " with use_sliding_window true") + "); Aha attends over the full context, which would give different logits. " +
            "Use a checkpoint without a sliding window, or set sliding_window to null if the model was trained without one.");
        if (node["layer_types"] is JsonArray layerTypes)
            foreach (var t in layerTypes)
                require(t?.GetValue<string>() == "full_attention", $"layer_types contains '{t}'; Aha implements full attention only ('full_attention').");
        require(node["quantization_config"] is null, "quantization_config is set: quantized weights are not supported; use the BF16/F16/F32 checkpoint.");
        require((node["attention_dropout"]?.GetValue<double>() ?? 0) == 0, "attention_dropout must be 0: Aha has no attention dropout.");
        require(node["use_mrope"]?.GetValue<bool>() != true, "use_mrope true (multimodal rotary positions) is not supported.");
        require((node["partial_rotary_factor"]?.GetValue<double>() ?? 1) == 1,
            $"partial_rotary_factor {node["partial_rotary_factor"]} is not supported: Aha rotates the whole head (1.0).");
        require((node["pretraining_tp"]?.GetValue<int>() ?? 1) >= 1, "pretraining_tp must be 1 or more.");
        if (type != "llama")
            require(node["mlp_bias"]?.GetValue<bool>() != true, $"mlp_bias true is not part of {type}; remove it.");
    }

    static void CheckDeepSeekFixedValues(JsonObject node, Action<bool, string> require)
    {
        string? Text(string key) => node[key]?.GetValue<string>();
        int? Number(string key) => node[key]?.GetValue<int>();
        require(Text("scoring_func") is null or "sigmoid", $"scoring_func '{Text("scoring_func")}' is not supported; Aha routes by sigmoid affinity ('sigmoid').");
        require(Text("topk_method") is null or "noaux_tc", $"topk_method '{Text("topk_method")}' is not supported; expected 'noaux_tc' (bias-corrected top-k).");
        require((Number("topk_group") ?? 1) >= (Number("n_group") ?? 1),
            $"group-limited routing (n_group {Number("n_group")}, topk_group {Number("topk_group")}) is not supported; set both to 1.");
        require(node["rope_interleave"]?.GetValue<bool>() != true,
            "rope_interleave true (DeepSeek's released weights) is not supported; Aha rotates halves: set rope_interleave false.");
    }
}
