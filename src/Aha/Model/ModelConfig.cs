using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aha.Model;

/// <summary>
/// Shape and semantics of a Llama-style decoder. Field names in config.json follow Hugging Face's
/// <c>LlamaConfig</c> (snake_case of these property names), so a checkpoint folder loads with <c>AutoModelForCausalLM</c>.
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

    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Throws with a message naming the field and the fix when the shape is inconsistent.</summary>
    public ModelConfig Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"model config: {message}"); }
        Require(VocabSize > 0, $"vocab_size must be positive (got {VocabSize}).");
        Require(HiddenSize > 0, $"hidden_size must be positive (got {HiddenSize}).");
        Require(IntermediateSize > 0, $"intermediate_size must be positive (got {IntermediateSize}).");
        Require(NumHiddenLayers > 0, $"num_hidden_layers must be positive (got {NumHiddenLayers}).");
        Require(NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0,
            $"hidden_size ({HiddenSize}) must be a multiple of num_attention_heads ({NumAttentionHeads}).");
        Require(HeadDim % 2 == 0, $"head dim hidden_size/num_attention_heads = {HeadDim} must be even for rotary embeddings.");
        Require(NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads == 0,
            $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads}).");
        Require(MaxPositionEmbeddings > 0, $"max_position_embeddings must be positive (got {MaxPositionEmbeddings}).");
        Require(RopeTheta > 0, $"rope_theta must be positive (got {RopeTheta}).");
        Require(RmsNormEps > 0, $"rms_norm_eps must be positive (got {RmsNormEps}).");
        foreach (var (name, id) in new[] { ("bos_token_id", BosTokenId), ("eos_token_id", EosTokenId), ("pad_token_id", PadTokenId ?? 0) })
            Require(id >= 0 && id < VocabSize, $"{name} = {id} is outside the vocabulary [0, {VocabSize}).");
        return this;
    }

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>Hugging Face config.json text (LlamaForCausalLM).</summary>
    public string ToJson()
    {
        var node = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        node.Remove("head_dim");
        node["architectures"] = new JsonArray("LlamaForCausalLM");
        node["model_type"] = "llama";
        node["hidden_act"] = "silu";
        node["mlp_bias"] = false;
        node["torch_dtype"] = "float32";
        node["head_dim"] = HeadDim;
        return node.ToJsonString(Json);
    }

    /// <summary>Reads config.json text; <paramref name="source"/> names the file in error messages.</summary>
    public static ModelConfig FromJson(string json, string source = "config.json")
    {
        JsonObject node;
        try { node = JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("empty document"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{source}: not a JSON object ({e.Message}). Re-save the checkpoint or fix the file.", e);
        }
        if (node["model_type"]?.GetValue<string>() is { } type && type != "llama")
            throw new InvalidDataException($"{source}: model_type '{type}' is not supported here; expected 'llama'.");
        if (node["hidden_act"]?.GetValue<string>() is { } act && act != "silu")
            throw new InvalidDataException($"{source}: hidden_act '{act}' is not supported; expected 'silu'.");
        if (node["head_dim"] is { } hd && node["hidden_size"] is { } hs && node["num_attention_heads"] is { } nh
            && hd.GetValue<int>() * nh.GetValue<int>() != hs.GetValue<int>())
            throw new InvalidDataException($"{source}: head_dim × num_attention_heads must equal hidden_size.");
        foreach (var key in new[] { "architectures", "model_type", "hidden_act", "mlp_bias", "torch_dtype", "head_dim" })
            node.Remove(key);
        try
        {
            var config = node.Deserialize<ModelConfig>(Json) ?? throw new JsonException("null config");
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
}
