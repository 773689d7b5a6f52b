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

    /// <summary>The inverse of <see cref="ByteToUnicode"/>.</summary>
    public static IReadOnlyDictionary<string, int> UnicodeToByte { get; } =
        ByteToUnicode.Select((symbol, b) => (symbol, b)).ToDictionary(p => p.symbol, p => p.b, StringComparer.Ordinal);

    /// <summary>The three files, by name.</summary>
    public static IEnumerable<(string Name, string Text)> Render(int? modelMaxLength)
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
            // add_special_tokens=True (transformers' default) puts <|bos|> first, as ByteTokenizer.Encode does when asked.
            ["post_processor"] = PostProcessor(),
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

    static JsonObject TemplatePiece(string kind, string id, int typeId) =>
        new() { [kind] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };

    /// <summary>Hugging Face's TemplateProcessing, as Llama 3 writes it: single <c>&lt;|bos|&gt; $A</c>, pair <c>&lt;|bos|&gt; $A &lt;|bos|&gt; $B</c>.</summary>
    static JsonObject PostProcessor()
    {
        string bos = ByteTokenizer.SpecialText(ByteTokenizer.Bos);
        return new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(TemplatePiece("SpecialToken", bos, 0), TemplatePiece("Sequence", "A", 0)),
            ["pair"] = new JsonArray(TemplatePiece("SpecialToken", bos, 0), TemplatePiece("Sequence", "A", 0),
                TemplatePiece("SpecialToken", bos, 1), TemplatePiece("Sequence", "B", 1)),
            ["special_tokens"] = new JsonObject
            {
                [bos] = new JsonObject { ["id"] = bos, ["ids"] = new JsonArray(ByteTokenizer.Bos), ["tokens"] = new JsonArray(bos) },
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

    static JsonObject TokenizerConfig(int? modelMaxLength)
    {
        var decoder = new JsonObject();
        foreach (var (id, text) in ByteTokenizer.SpecialTokens)
        {
            var token = AddedToken(id, text);
            token.Remove("id");
            decoder[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = token;
        }
        var config = new JsonObject
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
        if (modelMaxLength is null) config.Remove("model_max_length"); // transformers then assumes no limit
        return config;
    }

    /// <summary>tokenizer_config.json's <c>model_max_length</c> when the file exists and holds a whole number that fits an int; otherwise null.</summary>
    public static int? ReadModelMaxLength(string configPath)
    {
        if (!File.Exists(configPath)) return null;
        JsonNode? value;
        try { value = JsonNode.Parse(File.ReadAllText(configPath))?["model_max_length"]; }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{configPath}: not valid JSON ({e.Message}). The file is damaged; copy it again from the checkpoint it came from.", e);
        }
        // transformers writes 1e30 for "no limit"; anything that is not a positive int counts as unknown.
        return value?.GetValueKind() == JsonValueKind.Number && value.AsValue().TryGetValue(out double d)
            && d is >= 1 and <= int.MaxValue && d == Math.Floor(d) ? (int)d : null;
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
        // Files saved before the post-processor existed have none; Hugging Face then adds no <|bos|>, Aha still does.
        if (root["post_processor"] is JsonObject post && !IsBosPostProcessor(post))
            Fail("post_processor must be absent or TemplateProcessing putting <|bos|> (id 256) before the text");
        else if (root["post_processor"] is { } other && other is not JsonObject)
            Fail("post_processor must be absent or an object");

        var added = (root["added_tokens"] as JsonArray ?? []).OfType<JsonObject>()
            .ToDictionary(t => t["id"]?.GetValue<int>() ?? -1, t => Str(t["content"]));
        foreach (var (id, text) in ByteTokenizer.SpecialTokens)
            if (!added.TryGetValue(id, out var found) || found != text)
                Fail($"added_tokens lacks {text} with id {id}" + (found is null ? "" : $" (id {id} is '{found}')"));
        if (added.Count != ByteTokenizer.SpecialTokens.Count)
            Fail($"added_tokens has {added.Count} tokens, expected {ByteTokenizer.SpecialTokens.Count}");
    }

    static bool IsBosPostProcessor(JsonObject post)
    {
        string bos = ByteTokenizer.SpecialText(ByteTokenizer.Bos);
        if (Str(post["type"]) != "TemplateProcessing" || post["single"] is not JsonArray { Count: 2 } single) return false;
        bool singleOk = Str(single[0]?["SpecialToken"]?["id"]) == bos && Str(single[1]?["Sequence"]?["id"]) == "A";
        var ids = post["special_tokens"]?[bos]?["ids"] as JsonArray;
        return singleOk && post["special_tokens"] is JsonObject { Count: 1 } && ids is { Count: 1 }
            && ids[0]?.GetValueKind() == JsonValueKind.Number && ids[0]!.GetValue<int>() == ByteTokenizer.Bos;
    }

    static string? Str(JsonNode? node) => node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;
}
