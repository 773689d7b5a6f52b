using System.Text.Json;

namespace Aha.Tokenizer.Hf;

/// <summary>
/// What transformers reads from tokenizer_config.json (and special_tokens_map.json, generation_config.json) on top of
/// tokenizer.json: the named special tokens, the chat template, decoding clean-up and the Llama post-processor rewrite.
/// </summary>
sealed record HfConfig(
    string? BosToken, string? EosToken, string? PadToken, string? UnkToken,
    string? ChatTemplate, bool CleanUpTokenizationSpaces,
    bool? AddBosToken, bool? AddEosToken, string? TokenizerClass,
    IReadOnlyList<int> GenerationEosIds)
{
    public const string ConfigFile = "tokenizer_config.json";
    public const string SpecialTokensMapFile = "special_tokens_map.json";
    public const string GenerationConfigFile = "generation_config.json";

    public static HfConfig Load(string directory)
    {
        var configPath = Path.Combine(directory, ConfigFile);
        try { return LoadFiles(directory, configPath); }
        catch (InvalidOperationException e)
        {
            // JsonElement's GetString throws this on a lone surrogate (\ud800) in a string.
            throw new InvalidDataException($"{configPath} (or {SpecialTokensMapFile} beside it): a string holds invalid text ({e.Message}). Copy the file again from the model it came from.", e);
        }
    }

    static HfConfig LoadFiles(string directory, string configPath)
    {
        using var config = File.Exists(configPath) ? Parse(configPath) : null;
        var mapPath = Path.Combine(directory, SpecialTokensMapFile);
        using var map = File.Exists(mapPath) ? Parse(mapPath) : null;
        var c = config?.RootElement;
        var m = map?.RootElement;

        // tokenizer_config.json wins; special_tokens_map.json fills what it leaves out.
        string? Token(string name) => TokenText(c, name, configPath) ?? TokenText(m, name, mapPath);

        string? template = null;
        if (c is { } root && root.TryGetProperty("chat_template", out var t))
        {
            if (t.ValueKind == JsonValueKind.String) template = t.GetString();
            else if (t.ValueKind == JsonValueKind.Array)
            {
                // The list form names its templates; apply_chat_template uses "default".
                var named = t.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("name", out _)).ToList();
                var chosen = named.FirstOrDefault(e => e.GetProperty("name").ValueKind == JsonValueKind.String && e.GetProperty("name").GetString() == "default");
                if (chosen.ValueKind != JsonValueKind.Object || !chosen.TryGetProperty("template", out var body) || body.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{configPath}: chat_template is a list without a \"default\" entry holding a \"template\" string (it has: {string.Join(", ", named.Select(e => e.GetProperty("name").ToString()))}).");
                template = body.GetString();
            }
            else if (t.ValueKind != JsonValueKind.Null)
                throw new InvalidDataException($"{configPath}: chat_template is {t.ValueKind}; expected a string or a list of {{\"name\", \"template\"}}.");
        }
        // Newer transformers save the template beside the config instead of inside it.
        var separate = Path.Combine(directory, "chat_template.jinja");
        if (template is null && File.Exists(separate)) template = File.ReadAllText(separate);
        // transformers' default for clean_up_tokenization_spaces is false since v4.45 (it was true before).
        bool cleanUp = c is { } r1 && r1.TryGetProperty("clean_up_tokenization_spaces", out var cu) && cu.ValueKind == JsonValueKind.True;

        return new HfConfig(
            Token("bos_token"), Token("eos_token"), Token("pad_token"), Token("unk_token"),
            template, cleanUp,
            Bool(c, "add_bos_token"), Bool(c, "add_eos_token"),
            c is { } r2 && r2.TryGetProperty("tokenizer_class", out var tc) && tc.ValueKind == JsonValueKind.String ? tc.GetString() : null,
            GenerationEos(directory));
    }

    static JsonDocument Parse(string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e); }
        if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc;
        var kind = doc.RootElement.ValueKind;
        doc.Dispose();
        throw new InvalidDataException($"{path}: the top level is {kind}, not an object of tokenizer settings.");
    }

    static bool? Bool(JsonElement? root, string name) =>
        root is { } r && r.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    // A token is written as a string or as {"__type": "AddedToken", "content": …}.
    static string? TokenText(JsonElement? root, string name, string path)
    {
        if (root is not { } r || !r.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var content) => content.GetString(),
            _ => throw new InvalidDataException($"{path}: {name} is {v.GetRawText()}; expected a string, an AddedToken object or null."),
        };
    }

    static IReadOnlyList<int> GenerationEos(string directory)
    {
        var path = Path.Combine(directory, GenerationConfigFile);
        if (!File.Exists(path)) return [];
        using var doc = Parse(path);
        if (!doc.RootElement.TryGetProperty("eos_token_id", out var eos)) return [];
        return eos.ValueKind switch
        {
            JsonValueKind.Number => [eos.GetInt32()],
            JsonValueKind.Array => [.. eos.EnumerateArray().Select(e => e.GetInt32())],
            JsonValueKind.Null => [],
            _ => throw new InvalidDataException($"{path}: eos_token_id is {eos.GetRawText()}; expected an integer or a list of integers."),
        };
    }
}
