using System.Text.Json;
using System.Text.Json.Serialization;
using Aha.Tokenizer;

namespace Aha.Checkpoints;

/// <summary>
/// generation_config.json: Hugging Face's sampling defaults for this model. Generation stops at end of text or
/// end of turn. Temperature 0.6 and top-p 0.95 are DeepSeek-R1's evaluation settings.
/// </summary>
public sealed record GenerationConfig
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Begin-of-text id, or null when the tokenizer has none.</summary>
    public int? BosTokenId { get; init; }
    /// <summary>Ids that end generation.</summary>
    public IReadOnlyList<int> EosTokenId { get; init; } = [];
    /// <summary>Padding id.</summary>
    public int? PadTokenId { get; init; }
    /// <summary>Sample rather than take the most likely token.</summary>
    public bool DoSample { get; init; } = true;
    /// <summary>Softmax temperature.</summary>
    public double Temperature { get; init; } = 0.6;
    /// <summary>Nucleus sampling mass.</summary>
    public double TopP { get; init; } = 0.95;
    /// <summary>Longest completion, or null for the model's context.</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>Defaults with the special ids of <paramref name="tokenizer"/>: its BOS, its stop ids (end of text and end of turn), its padding.</summary>
    public static GenerationConfig For(ITokenizer tokenizer) => new()
    {
        BosTokenId = tokenizer.BosId,
        EosTokenId = [.. tokenizer.StopIds],
        PadTokenId = tokenizer.PadId,
    };

    /// <summary>generation_config.json text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json) + "\n";

    /// <summary>Reads generation_config.json text; <paramref name="source"/> names the file in errors.</summary>
    public static GenerationConfig FromJson(string json, string source = "generation_config.json")
    {
        try { return JsonSerializer.Deserialize<GenerationConfig>(json, Json) ?? throw new JsonException("the document is null"); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: {e.Message}", e); }
    }
}
