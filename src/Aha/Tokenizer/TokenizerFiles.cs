using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aha.Tokenizer;

/// <summary>The Hugging Face files that describe <see cref="ByteTokenizer"/>: writing them and recognising them.</summary>
static class TokenizerFiles
{
    public const string TokenizerJson = "tokenizer.json";
    public const string TokenizerConfigJson = "tokenizer_config.json";
    public const string SpecialTokensMapJson = "special_tokens_map.json";

    static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        // Write "Ġ" rather than "\u0120" so the vocabulary reads like every other tokenizer.json.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 to U+0100 onwards in byte order.</summary>
    public static IReadOnlyList<string> ByteToUnicode { get; } = BuildByteToUnicode();

    static string[] BuildByteToUnicode()
    {
        var map = new string[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = ((char)(printable ? b : next++)).ToString();
        }
        return map;
    }

    /// <summary>The three files, by name.</summary>
    public static IEnumerable<(string Name, string Text)> Render(int modelMaxLength)
    {
        yield return (TokenizerJson, TokenizerJsonNode().ToJsonString(Indented) + "\n");
        yield return (TokenizerConfigJson, TokenizerConfig(modelMaxLength).ToJsonString(Indented) + "\n");
        yield return (SpecialTokensMapJson, SpecialTokensMap().ToJsonString(Indented) + "\n");
    }

    static JsonObject AddedToken(int id, string text) => new()
    {
        ["id"] = id,
        ["content"] = text,
        ["single_word"] = false,
        ["lstrip"] = false,
        ["rstrip"] = false,
        ["normalized"] = false,
        ["special"] = true,
    };

    static JsonObject ByteLevel() => new()
    {
        ["type"] = "ByteLevel",
        ["add_prefix_space"] = false,
        ["trim_offsets"] = false,
        ["use_regex"] = false,
    };

    static JsonObject TokenizerJsonNode()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteToUnicode[b]] = b;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray([.. ByteTokenizer.SpecialTokens.Select(t => (JsonNode)AddedToken(t.Id, t.Text))]),
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevel(),
            // No post-processor: encoding adds no BOS/EOS by itself, exactly like ByteTokenizer.Encode.
            ["post_processor"] = null,
            ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(),
            },
        };
    }

    /// <summary>Jinja twin of <see cref="ChatTemplate"/>; <c>{% generation %}</c> lets <c>return_assistant_tokens_mask</c> mark the same tokens.</summary>
    public const string JinjaChatTemplate =
        "{{ bos_token }}" +
        "{% for message in messages %}" +
        "{% if message['role'] not in ['system', 'user', 'assistant'] %}{{ raise_exception('role must be system, user or assistant') }}{% endif %}" +
        "{% if message['role'] == 'assistant' %}{{ '<|assistant|>' }}{% generation %}{{ message['content'] + '<|end|>' }}{% endgeneration %}" +
        "{% else %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endif %}" +
        "{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

    static JsonObject TokenizerConfig(int modelMaxLength)
    {
        var decoder = new JsonObject();
        foreach (var (id, text) in ByteTokenizer.SpecialTokens)
        {
            var token = AddedToken(id, text);
            token.Remove("id");
            decoder[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = token;
        }
        return new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = ByteTokenizer.SpecialText(ByteTokenizer.Bos),
            ["eos_token"] = ByteTokenizer.SpecialText(ByteTokenizer.Eos),
            ["pad_token"] = ByteTokenizer.SpecialText(ByteTokenizer.Pad),
            ["additional_special_tokens"] = AdditionalSpecialTokens(),
            ["added_tokens_decoder"] = decoder,
            ["model_max_length"] = modelMaxLength,
            ["clean_up_tokenization_spaces"] = false,
            ["chat_template"] = JinjaChatTemplate,
        };
    }

    static JsonArray AdditionalSpecialTokens() =>
        new([.. new[] { ByteTokenizer.System, ByteTokenizer.User, ByteTokenizer.Assistant, ByteTokenizer.End }
            .Select(id => (JsonNode)ByteTokenizer.SpecialText(id))]);

    static JsonObject SpecialTokensMap() => new()
    {
        ["bos_token"] = ByteTokenizer.SpecialText(ByteTokenizer.Bos),
        ["eos_token"] = ByteTokenizer.SpecialText(ByteTokenizer.Eos),
        ["pad_token"] = ByteTokenizer.SpecialText(ByteTokenizer.Pad),
        ["additional_special_tokens"] = AdditionalSpecialTokens(),
    };

    /// <summary>Throws unless <paramref name="json"/> describes exactly our byte tokenizer; <paramref name="source"/> names the file.</summary>
    public static void Verify(string json, string source)
    {
        // A field of the wrong JSON kind, or a repeated key (JsonObject reports it lazily), must not escape as a crash.
        try { VerifyCore(json, source); }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{source}: damaged ({e.Message.Split('\n')[0]}). Copy it again from the checkpoint it came from.", e);
        }
    }

    static void VerifyCore(string json, string source)
    {
        void Fail(string what) => throw new InvalidDataException(
            $"{source}: not Aha's byte-level tokenizer ({what}). Aha models use one fixed tokenizer (bytes 0..255 + " +
            $"{ByteTokenizer.SpecialTokens.Count} special tokens); re-save this checkpoint with Aha or use the tokenizer.json that came with it.");

        JsonObject root;
        try { root = JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("empty document"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{source}: not valid JSON ({e.Message}). The file is damaged; copy it again from the checkpoint it came from.", e);
        }

        if (root["model"] is not JsonObject model || Str(model["type"]) != "BPE")
            Fail($"model.type is '{Str((root["model"] as JsonObject)?["type"])}', expected 'BPE'");
        var m = (JsonObject)root["model"]!;
        if (m["vocab"] is not JsonObject vocab) { Fail("model.vocab is missing"); return; }
        if (vocab.Count != 256) Fail($"model.vocab has {vocab.Count} entries, expected 256");
        for (int b = 0; b < 256; b++)
        {
            var id = vocab[ByteToUnicode[b]];
            if (id is null || id.GetValueKind() != JsonValueKind.Number || id.GetValue<int>() != b)
                Fail($"model.vocab maps '{ByteToUnicode[b]}' (byte 0x{b:X2}) to {id?.ToJsonString() ?? "nothing"}, expected {b}");
        }
        if (m["merges"] is JsonArray { Count: > 0 } merges) Fail($"model.merges has {merges.Count} entries, expected none");
        if (root["pre_tokenizer"] is not JsonObject pre || Str(pre["type"]) != "ByteLevel"
            || pre["add_prefix_space"]?.GetValue<bool>() == true || pre["use_regex"]?.GetValue<bool>() != false)
            Fail("pre_tokenizer must be ByteLevel with add_prefix_space false and use_regex false");
        if (Str((root["decoder"] as JsonObject)?["type"]) != "ByteLevel") Fail("decoder must be ByteLevel");
        if (root["normalizer"] is not null) Fail("it has a normalizer, which would change the bytes");

        var added = (root["added_tokens"] as JsonArray ?? []).OfType<JsonObject>()
            .ToDictionary(t => t["id"]?.GetValue<int>() ?? -1, t => Str(t["content"]));
        foreach (var (id, text) in ByteTokenizer.SpecialTokens)
            if (!added.TryGetValue(id, out var found) || found != text)
                Fail($"added_tokens lacks {text} with id {id}" + (found is null ? "" : $" (id {id} is '{found}')"));
        if (added.Count != ByteTokenizer.SpecialTokens.Count)
            Fail($"added_tokens has {added.Count} tokens, expected {ByteTokenizer.SpecialTokens.Count}");
    }

    static string? Str(JsonNode? node) => node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;
}
