using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;

namespace Aha.Tests.Model;

/// <summary>config.json of each family: read as transformers reads it, written back the same, and every unsupported option refused by name.</summary>
public class FamilyConfigTests
{
    static JsonObject GoldenConfig(string family) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(FamilyGolden.Folder(family), "config.json")))!.AsObject();

    [Fact]
    public void Each_family_reads_its_own_choices()
    {
        var qwen2 = ModelConfig.FromJson(GoldenConfig("qwen2").ToJsonString());
        Assert.Equal(("qwen2", true, false, false, 16, "bfloat16"), (qwen2.ModelType, qwen2.QkvBias, qwen2.OutputBias, qwen2.UsesQkNorm, qwen2.HeadDim, qwen2.TorchDtype));
        Assert.Null(qwen2.PadTokenId); // absent, as in Qwen's files: no padding row
        var qwen3 = ModelConfig.FromJson(GoldenConfig("qwen3").ToJsonString());
        Assert.Equal(("qwen3", false, true, 32), (qwen3.ModelType, qwen3.QkvBias, qwen3.UsesQkNorm, qwen3.HeadDim));
        var llama = ModelConfig.FromJson(GoldenConfig("llama").ToJsonString());
        Assert.Equal(new RopeScaling(8, 1, 4, 16), llama.RopeScaling);
        Assert.Equal((24, 501), (llama.HeadDim, llama.EosTokenId)); // eos_token_id [501, 502]: the first is the model's EOS
    }

    [Theory]
    [MemberData(nameof(FamilyGolden.Families), MemberType = typeof(FamilyGolden))]
    public void A_config_round_trips_through_ToJson(string family)
    {
        var config = ModelConfig.FromJson(GoldenConfig(family).ToJsonString());
        var again = ModelConfig.FromJson(config.ToJson());
        Assert.Equal(config, again);
        Assert.Equal(config.ToJson(), again.ToJson());
    }

    // Qwen2.5-0.5B-Instruct's config.json as published (no rope_scaling, no pad_token_id, sliding window off).
    const string Qwen25 = """
        {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
         "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
         "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2", "num_attention_heads": 14,
         "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
         "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.43.1",
         "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}
        """;

    [Fact]
    public void A_published_qwen2_config_is_written_back_with_exactly_its_fields()
    {
        var config = ModelConfig.FromJson(Qwen25);
        Assert.Equal((64, true, 494_032_768L), (config.HeadDim, config.QkvBias, ModelSize.Of(config).TotalParameters)); // Qwen2.5-0.5B: 494M
        var written = JsonNode.Parse(config.ToJson())!.AsObject();
        var input = JsonNode.Parse(Qwen25)!.AsObject();
        Assert.Equal(input.Select(p => p.Key).Order(StringComparer.Ordinal), written.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(input["eos_token_id"]!.GetValue<int>(), written["eos_token_id"]!.GetValue<int>());
        Assert.Equal("bfloat16", written["torch_dtype"]!.GetValue<string>());
    }

    /// <summary>transformers 4.56 renamed the key to "dtype" (PR #39782) and reads either; a saved fine-tune keeps the input's spelling.</summary>
    [Theory]
    [InlineData("torch_dtype")]
    [InlineData("dtype")]
    public void The_dtype_key_is_written_back_as_the_input_spelled_it(string key)
    {
        var input = JsonNode.Parse(Qwen25)!.AsObject();
        input.Remove("torch_dtype");
        input[key] = "bfloat16";
        var config = ModelConfig.FromJson(input.ToJsonString());
        Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, config.StorageDtype);
        var written = JsonNode.Parse(config.ToJson())!.AsObject();
        Assert.Equal(input.Select(p => p.Key).Order(StringComparer.Ordinal), written.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal("bfloat16", written[key]!.GetValue<string>());
        input["torch_dtype"] = "float16";
        input["dtype"] = "bfloat16";
        Assert.Contains("disagree", Assert.Throws<InvalidDataException>(() => ModelConfig.FromJson(input.ToJsonString())).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("llama", "model_type", "\"gemma\"", "model_type 'gemma'")]
    [InlineData("llama", "rope_scaling", "{\"rope_type\": \"yarn\", \"factor\": 4.0}", "rope_scaling.rope_type 'yarn'")]
    [InlineData("llama", "rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 8.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 16}", "rope_scaling.low_freq_factor")]
    [InlineData("llama", "rope_scaling", "{\"type\": \"linear\", \"factor\": 2.0}", "rope_scaling.rope_type 'linear'")]
    [InlineData("qwen2", "use_sliding_window", "true", "sliding_window 128 is in use")]
    [InlineData("qwen3", "layer_types", "[\"sliding_attention\", \"full_attention\"]", "layer_types contains 'sliding_attention'")]
    [InlineData("qwen2", "quantization_config", "{\"quant_method\": \"awq\"}", "quantization_config")]
    [InlineData("qwen2", "hidden_act", "\"gelu\"", "hidden_act 'gelu'")]
    [InlineData("qwen3", "mlp_bias", "true", "mlp_bias true")]
    [InlineData("llama", "attention_dropout", "0.1", "attention_dropout")]
    [InlineData("llama", "partial_rotary_factor", "0.5", "partial_rotary_factor 0.5")]
    [InlineData("qwen2", "rope_parameters", "{\"rope_type\": \"default\", \"rope_theta\": 10000.0}", "rope_parameters")]
    public void An_unsupported_option_is_refused_naming_the_file_and_field(string family, string field, string value, string named)
    {
        var node = GoldenConfig(family);
        node[field] = JsonNode.Parse(value);
        if (field == "use_sliding_window") (node["sliding_window"], node["max_window_layers"]) = (128, 0);
        node["max_position_embeddings"] = field == "use_sliding_window" ? 4096 : node["max_position_embeddings"]!.GetValue<int>();
        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.FromJson(node.ToJsonString(), "/models/x/config.json"));
        Assert.StartsWith("/models/x/config.json: ", e.Message);
        Assert.Contains(named, e.Message);
    }

    [Theory]
    [InlineData(null, 128, true)]    // no window at all
    [InlineData(4096, 128, true)]    // a window longer than any sequence the model takes is no window
    [InlineData(64, 128, false)]     // a window in effect
    public void Mistral_is_read_unless_its_sliding_window_is_in_effect(int? window, int maxPositions, bool accepted)
    {
        var node = GoldenConfig("qwen3");
        foreach (var key in new[] { "use_sliding_window", "max_window_layers", "attention_bias", "rope_scaling" }) node.Remove(key);
        (node["model_type"], node["architectures"], node["sliding_window"], node["max_position_embeddings"]) =
            ("mistral", new JsonArray("MistralForCausalLM"), window, maxPositions);
        if (accepted)
        {
            var config = ModelConfig.FromJson(node.ToJsonString());
            Assert.Equal(("mistral", false, false, false), (config.ModelType, config.QkvBias, config.OutputBias, config.UsesQkNorm));
            Assert.Equal(32, config.HeadDim);
        }
        else Assert.Contains("sliding_window 64 is in use", Assert.Throws<InvalidDataException>(() => ModelConfig.FromJson(node.ToJsonString())).Message);
    }

    [Fact]
    public void A_missing_shard_is_named()
    {
        using var temp = new TempDirectory();
        string folder = FamilyGolden.CopyWithTokenizer("qwen2", temp);
        File.Delete(Path.Combine(folder, "model-00002-of-00002.safetensors"));
        var e = Assert.Throws<FileNotFoundException>(() => WeightFiles.Headers(folder));
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
    }

    [Fact]
    public void A_weight_map_that_misplaces_a_tensor_is_refused()
    {
        using var temp = new TempDirectory();
        string folder = FamilyGolden.CopyWithTokenizer("qwen2", temp);
        string index = Path.Combine(folder, WeightFiles.IndexFile);
        var node = JsonNode.Parse(File.ReadAllText(index))!;
        node["weight_map"]!["model.norm.weight"] = "model-00001-of-00002.safetensors";
        File.WriteAllText(index, node.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => WeightFiles.Headers(folder));
        Assert.Contains("'model.norm.weight'", e.Message);
    }
}
