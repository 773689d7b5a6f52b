using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aha.Checkpoints;

/// <summary>
/// What a trainer needs beside the weights to resume exactly: the step, the run's seed (per-step seeds are derived
/// from it arithmetically), the options the run used, and a free JSON payload each trainer fills with its own
/// state (data position, reward statistics, reference-model step, …). Saved as trainer_state.json.
/// </summary>
public sealed record TrainingState
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>Optimizer steps completed.</summary>
    public required long Step { get; init; }
    /// <summary>The run's base seed.</summary>
    public long Seed { get; init; }
    /// <summary>Which trainer wrote this: "pretrain", "sft", "grpo", ….</summary>
    public string Trainer { get; init; } = "";
    /// <summary>The options the run used, as JSON (see <see cref="WithOptions{T}"/>).</summary>
    public JsonObject Options { get; init; } = [];
    /// <summary>Trainer-specific state by key (see <see cref="With{T}"/> and <see cref="Get{T}"/>).</summary>
    public JsonObject Payload { get; init; } = [];

    /// <summary>A copy with <paramref name="options"/> serialised (snake_case) as <see cref="Options"/>.</summary>
    public TrainingState WithOptions<T>(T options) =>
        this with { Options = JsonSerializer.SerializeToNode(options, Json)?.AsObject() ?? [] };

    /// <summary>The options deserialised as <typeparamref name="T"/>.</summary>
    public T GetOptions<T>() => Options.Deserialize<T>(Json)
        ?? throw new InvalidDataException($"trainer_state.json: options are empty; expected {typeof(T).Name}.");

    /// <summary>A copy whose payload has <paramref name="key"/> set to <paramref name="value"/> (snake_case JSON).</summary>
    public TrainingState With<T>(string key, T value)
    {
        var payload = (JsonObject)Payload.DeepClone();
        payload[key] = JsonSerializer.SerializeToNode(value, Json);
        return this with { Payload = payload };
    }

    /// <summary>The payload entry <paramref name="key"/> as <typeparamref name="T"/>, or default when absent.</summary>
    public T? Get<T>(string key)
    {
        if (!Payload.TryGetPropertyValue(key, out var node) || node is null) return default;
        try { return node.Deserialize<T>(Json); }
        catch (JsonException e)
        {
            throw new InvalidDataException($"trainer_state.json: payload \"{key}\" is not a {typeof(T).Name} ({e.Message}).", e);
        }
    }

    /// <summary>trainer_state.json text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json) + "\n";

    /// <summary>Reads trainer_state.json text; <paramref name="source"/> names the file in errors.</summary>
    public static TrainingState FromJson(string json, string source = "trainer_state.json")
    {
        try
        {
            return JsonSerializer.Deserialize<TrainingState>(json, Json) ?? throw new JsonException("the document is null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: {e.Message} The run cannot resume from it; resume from an earlier checkpoint or fix the file.", e);
        }
    }
}
