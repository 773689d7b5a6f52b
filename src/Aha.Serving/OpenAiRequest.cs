using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Tokenizer;

namespace Aha.Serving;

/// <summary>An OpenAI-style error: the HTTP status and the <c>{"error": {message, type, param, code}}</c> body.</summary>
public sealed class ApiException(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error")
    : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    public string Type { get; } = type;

    public JsonObject ToJson() => Body(Message, Type, Param, Code);

    public static JsonObject Body(string message, string type, string? param = null, string? code = null) => new()
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
    };
}

/// <summary>
/// A <c>/v1/chat/completions</c> or <c>/v1/completions</c> body, read leniently as vLLM does (unknown fields ignored) and
/// checked strictly (a wrong value is a 400 naming the field and the accepted range).
/// </summary>
public sealed record OpenAiRequest
{
    public string? Model { get; init; }
    /// <summary>Chat endpoint: the conversation.</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    /// <summary>Completions endpoint: the text to continue.</summary>
    public string? Prompt { get; init; }
    /// <summary>max_tokens or max_completion_tokens; null = up to the context.</summary>
    public int? MaxTokens { get; init; }
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 1.0;
    public int TopK { get; init; }
    public int N { get; init; } = 1;
    public IReadOnlyList<string> Stop { get; init; } = [];
    public long? Seed { get; init; }
    public bool Stream { get; init; }
    /// <summary>Chat: return each token's log-probability (<c>logprobs: true</c>) and this many alternatives (0–20).</summary>
    public bool LogProbs { get; init; }
    public int TopLogProbs { get; init; }
    public bool IncludeUsage { get; init; }

    /// <summary>Parses a request body; <paramref name="chat"/> picks the endpoint's required field (messages or prompt).</summary>
    public static OpenAiRequest Parse(string body, bool chat)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(body) as JsonObject ?? throw new ApiException(400, "the request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"the request body is not valid JSON: {e.Message}");
        }
        var request = new OpenAiRequest
        {
            Model = String(root, "model"),
            MaxTokens = Int(root, "max_completion_tokens") ?? Int(root, "max_tokens"),
            Temperature = Number(root, "temperature") ?? 1.0,
            TopP = Number(root, "top_p") ?? 1.0,
            TopK = Int(root, "top_k") ?? 0,
            N = Int(root, "n") ?? 1,
            Stop = Stops(root),
            Seed = Long(root, "seed"),
            Stream = Bool(root, "stream") ?? false,
            IncludeUsage = root["stream_options"] is JsonObject options && (Bool(options, "include_usage") ?? false),
        };
        if (chat) request = request with { LogProbs = Bool(root, "logprobs") ?? false, TopLogProbs = Int(root, "top_logprobs") ?? 0 };
        else if (Field(root, "logprobs") is not null)
            throw Invalid("logprobs", "is not served on /v1/completions; use /v1/chat/completions with \"logprobs\": true (and \"top_logprobs\").");
        request = chat ? request with { Messages = ParseMessages(root) } : request with { Prompt = PromptText(root) };
        if (request.MaxTokens is <= 0) throw Invalid("max_tokens", $"must be a positive integer, got {request.MaxTokens}.");
        if (!double.IsFinite(request.Temperature) || request.Temperature < 0) throw Invalid("temperature", $"must be ≥ 0 (0 = greedy), got {request.Temperature}.");
        if (!(request.TopP > 0 && request.TopP <= 1)) throw Invalid("top_p", $"must be in (0, 1], got {request.TopP}.");
        if (request.TopK < -1) throw Invalid("top_k", $"must be ≥ 0, or -1 / 0 for off, got {request.TopK}.");
        if (request.N is < 1 or > 16) throw Invalid("n", $"must be between 1 and 16, got {request.N}.");
        if (request.TopLogProbs is < 0 or > 20) throw Invalid("top_logprobs", $"must be between 0 and 20, got {request.TopLogProbs}.");
        if (request.TopLogProbs > 0 && !request.LogProbs) throw Invalid("top_logprobs", "needs \"logprobs\": true.");
        return request with { TopK = Math.Max(0, request.TopK) };
    }

    static ApiException Invalid(string field, string message) => new(400, $"'{field}' {message}", field);

    static JsonNode? Field(JsonObject root, string name) => root.TryGetPropertyValue(name, out var node) ? node : null;

    static string? String(JsonObject root, string name) => Field(root, name) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw Invalid(name, "must be a string."),
    };

    static double? Number(JsonObject root, string name) => Field(root, name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
        _ => throw Invalid(name, "must be a number."),
    };

    static long? Long(JsonObject root, string name) => Field(root, name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out long l) => l,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is var d && d == Math.Floor(d) && Math.Abs(d) < 9e18 => (long)d,
        _ => throw Invalid(name, "must be an integer."),
    };

    static int? Int(JsonObject root, string name) => Long(root, name) is not { } l ? null
        : l is >= int.MinValue and <= int.MaxValue ? (int)l : throw Invalid(name, $"is out of range ({l}).");

    static bool? Bool(JsonObject root, string name) => Field(root, name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw Invalid(name, "must be true or false."),
    };

    static IReadOnlyList<string> Stops(JsonObject root)
    {
        var stops = Field(root, "stop") switch
        {
            null => [],
            JsonValue v when v.TryGetValue(out string? s) => [s],
            JsonArray a when a.All(x => x is JsonValue v && v.GetValueKind() == JsonValueKind.String) => a.Select(x => x!.GetValue<string>()).ToList(),
            _ => throw Invalid("stop", "must be a string or an array of strings."),
        };
        if (stops.Count > 4) throw Invalid("stop", $"takes at most 4 sequences, got {stops.Count}.");
        if (stops.Any(string.IsNullOrEmpty)) throw Invalid("stop", "must not contain an empty string.");
        return stops;
    }

    static IReadOnlyList<ChatMessage> ParseMessages(JsonObject root)
    {
        if (Field(root, "messages") is not JsonArray array || array.Count == 0)
            throw Invalid("messages", "must be a non-empty array of {role, content} objects.");
        var messages = new List<ChatMessage>();
        for (int i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject message) throw Invalid($"messages[{i}]", "must be an object with role and content.");
            string role = String(message, "role") ?? throw Invalid($"messages[{i}].role", "is required.");
            if (role == "developer") role = "system"; // OpenAI's newer name for the system turn
            if (role is not ("system" or "user" or "assistant"))
                throw Invalid($"messages[{i}].role", $"'{role}' is not served; use system, developer, user or assistant.");
            messages.Add(new ChatMessage(role, Content(message["content"], $"messages[{i}].content")));
        }
        return messages;
    }

    // A string, or the array-of-parts form (only text parts), or null for an assistant turn without text.
    static string Content(JsonNode? node, string field) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonArray parts => string.Concat(parts.Select((p, j) => p is JsonObject part && String(part, "type") == "text" && String(part, "text") is { } text
            ? text : throw Invalid($"{field}[{j}]", "only text parts ({\"type\": \"text\", \"text\": …}) are served."))),
        _ => throw Invalid(field, "must be a string or an array of text parts."),
    };

    static string PromptText(JsonObject root) => Field(root, "prompt") switch
    {
        JsonValue v when v.TryGetValue(out string? s) && s.Length > 0 => s,
        JsonArray { Count: 1 } a when a[0] is JsonValue v && v.TryGetValue(out string? s) && s.Length > 0 => s,
        null => throw Invalid("prompt", "is required."),
        _ => throw Invalid("prompt", "must be a non-empty string (one prompt per request)."),
    };
}
