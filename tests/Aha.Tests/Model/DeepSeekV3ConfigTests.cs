using System.Text.Json.Nodes;
using Aha.Model;

namespace Aha.Tests.Model;

public class DeepSeekV3ConfigTests
{
    [Theory]
    [MemberData(nameof(TinyModels.Variants), MemberType = typeof(TinyModels))]
    public void Config_json_round_trips_every_variant(string variant)
    {
        var config = TinyModels.Variant(variant);
        Assert.Equal(config, ModelConfig.FromJson(config.ToJson()));
    }

    [Fact]
    public void A_llama_config_json_has_no_deepseek_fields()
    {
        var node = JsonNode.Parse(TinyModels.Config().ToJson())!.AsObject();
        Assert.Equal("LlamaForCausalLM", node["architectures"]![0]!.GetValue<string>());
        Assert.Equal("llama", node["model_type"]!.GetValue<string>());
        Assert.Equal(8, node["head_dim"]!.GetValue<int>());
        foreach (var key in new[] { "kv_lora_rank", "q_lora_rank", "n_routed_experts", "num_nextn_predict_layers", "first_k_dense_replace", "uses_mla", "rope_dim" })
            Assert.False(node.ContainsKey(key), key);
    }

    [Fact]
    public void A_v3_config_json_uses_deepseek_v3_names_and_values()
    {
        var node = JsonNode.Parse(TinyModels.Variant("v3").ToJson())!.AsObject();
        Assert.Equal("DeepseekV3ForCausalLM", node["architectures"]![0]!.GetValue<string>());
        Assert.Equal("deepseek_v3", node["model_type"]!.GetValue<string>());
        Assert.Equal(12, node["kv_lora_rank"]!.GetValue<int>());
        Assert.Equal(20, node["q_lora_rank"]!.GetValue<int>());
        Assert.Equal(4, node["qk_rope_head_dim"]!.GetValue<int>());
        Assert.Equal(4, node["head_dim"]!.GetValue<int>());          // Hugging Face sizes its rotary tables from head_dim
        Assert.Equal(4, node["n_routed_experts"]!.GetValue<int>());
        Assert.Equal(2, node["num_experts_per_tok"]!.GetValue<int>());
        Assert.Equal(1, node["num_nextn_predict_layers"]!.GetValue<int>());
        Assert.Equal("sigmoid", node["scoring_func"]!.GetValue<string>());
        Assert.Equal("noaux_tc", node["topk_method"]!.GetValue<string>());
        Assert.False(node["rope_interleave"]!.GetValue<bool>());
    }

    [Fact]
    public void Mla_alone_writes_every_layer_dense_so_hugging_face_builds_no_experts()
    {
        var config = TinyModels.Variant("mla_plain_q");
        var node = JsonNode.Parse(config.ToJson())!.AsObject();
        Assert.Null(node["n_routed_experts"]);
        Assert.Null(node["q_lora_rank"]);
        Assert.Equal(config.NumHiddenLayers, node["first_k_dense_replace"]!.GetValue<int>());
        Assert.False(ModelConfig.FromJson(config.ToJson()).UsesMoe);
    }

    [Theory]
    [InlineData("kv_lora_rank", "12", "qk_rope_head_dim", "MLA is on because kv_lora_rank is set; qk_rope_head_dim")]
    [InlineData("n_routed_experts", "4", "num_experts_per_tok", "MoE is on because n_routed_experts is set; num_experts_per_tok")]
    public void A_feature_switched_on_without_its_shape_fails_naming_the_missing_field(string on, string value, string missing, string message)
    {
        var node = JsonNode.Parse(TinyModels.Variant("v3").ToJson())!.AsObject();
        node[on] = JsonNode.Parse(value);
        node.Remove(missing);
        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.FromJson(node.ToJsonString(), "run/config.json"));
        Assert.Contains("run/config.json", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("scoring_func", "\"softmax\"", "scoring_func 'softmax' is not supported")]
    [InlineData("topk_method", "\"greedy\"", "topk_method 'greedy' is not supported")]
    [InlineData("n_group", "8", "group-limited routing")]
    [InlineData("rope_interleave", "true", "rope_interleave true")]
    [InlineData("model_type", "\"mixtral\"", "model_type 'mixtral' is not supported")]
    public void Unsupported_deepseek_settings_are_refused_with_a_reason(string key, string value, string message)
    {
        var node = JsonNode.Parse(TinyModels.Variant("v3").ToJson())!.AsObject();
        node[key] = JsonNode.Parse(value);
        Assert.Contains(message, Assert.Throws<InvalidDataException>(() => ModelConfig.FromJson(node.ToJsonString())).Message);
    }
}
