using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aha.Tokenizer;

namespace Aha.Export;

/// <summary>
/// A tokenizer as llama.cpp's <c>gpt2</c> (byte-level BPE) vocabulary: one token text and type per model id, the merges,
/// the pre-tokenizer name llama.cpp implements the same split with, special ids and the chat template.
/// </summary>
/// <remarks>
/// Aha's byte tokenizer is the same kind of file with 256 byte tokens and no merges: every UTF-8 byte is its own token
/// whatever the pre-tokenizer splits, so llama.cpp's BPE reproduces its ids exactly (checked by the export tests).
/// </remarks>
public sealed partial record GgufVocabulary(
    IReadOnlyList<string> Tokens, IReadOnlyList<int> TokenTypes, IReadOnlyList<string> Merges, string PreTokenizer,
    int? BosId, int? EosId, int? PadId, bool AddBos, bool AddEos, string? ChatTemplate)
{
    /// <summary>llama.cpp's token types (<c>llama_token_type</c>).</summary>
    public const int Normal = 1, Control = 3, UserDefined = 4, Unused = 5;

    // The pre-tokenizer regexes of the supported Hugging Face tokenizers, by the name llama.cpp gives the same split.
    static readonly Dictionary<string, string> KnownSplits = new()
    {
        [@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"] = "qwen2",
        [@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"] = "llama-bpe",
    };

    /// <summary>
    /// The vocabulary of <paramref name="tokenizer"/> padded to the model's <paramref name="vocabSize"/> rows (ids past the
    /// tokenizer become unused <c>[PADn]</c> tokens, as llama.cpp's converter names them). Reads the Hugging Face files the
    /// tokenizer saves, so the merges and added tokens are the ones Aha encodes with.
    /// </summary>
    public static GgufVocabulary From(ITokenizer tokenizer, int vocabSize, int? configBos = null, int? configEos = null)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"aha-gguf-tokenizer-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            tokenizer.Save(folder);
            string jsonPath = Path.Combine(folder, "tokenizer.json");
            var json = JsonNode.Parse(File.ReadAllText(jsonPath))!.AsObject();
            var config = File.Exists(Path.Combine(folder, "tokenizer_config.json"))
                ? JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")))!.AsObject() : new JsonObject();
            return Build(tokenizer, vocabSize, json, config, configBos, configEos);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    static GgufVocabulary Build(ITokenizer tokenizer, int vocabSize, JsonObject json, JsonObject config, int? configBos, int? configEos)
    {
        var model = json["model"] as JsonObject ?? throw new InvalidDataException("tokenizer.json has no 'model' object.");
        if ((string?)model["type"] != "BPE")
            throw new NotSupportedException($"tokenizer.json model type '{model["type"]}' cannot be exported: GGUF export handles byte-level BPE tokenizers (Qwen2/3, Llama 3, Aha's byte tokenizer).");
        if (model["byte_fallback"]?.GetValue<bool>() == true)
            throw new NotSupportedException("tokenizer.json uses byte_fallback (SentencePiece-style BPE, e.g. Llama 2), which llama.cpp reads as an 'llama' (SPM) vocabulary; GGUF export handles byte-level BPE only.");
        if (tokenizer.VocabSize > vocabSize)
            throw new InvalidDataException($"the tokenizer has {tokenizer.VocabSize} ids but the model's vocab_size is {vocabSize}: the embedding cannot cover them.");

        var merges = (model["merges"] as JsonArray ?? []).Select(m => m switch
        {
            JsonArray pair => $"{(string)pair[0]!} {(string)pair[1]!}",
            _ => (string)m!,
        }).ToArray();

        var added = new Dictionary<int, bool>(); // id → special
        foreach (var token in json["added_tokens"] as JsonArray ?? [])
            added[(int)token!["id"]!] = token["special"]?.GetValue<bool>() == true;

        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        for (int id = 0; id < vocabSize; id++)
        {
            string? text = id < tokenizer.VocabSize ? tokenizer.IdToToken(id) : null;
            if (text is null) { tokens[id] = $"[PAD{id}]"; types[id] = Unused; continue; }
            tokens[id] = text;
            // As the converter does: added tokens that are special, or look it (<|…|>), are control tokens; other added ones user-defined.
            types[id] = !added.TryGetValue(id, out bool special) ? Normal
                : special || (text.StartsWith("<|", StringComparison.Ordinal) && text.EndsWith("|>", StringComparison.Ordinal)) ? Control
                : UserDefined;
        }

        var withSpecials = tokenizer.Encode("a", addSpecialTokens: true);
        var plain = tokenizer.Encode("a");
        bool addBos = withSpecials.Length > plain.Length && withSpecials[0] == tokenizer.BosId;
        bool addEos = withSpecials.Length > plain.Length && withSpecials[^1] == tokenizer.EosId;
        string? template = config["chat_template"] switch
        {
            JsonValue v => (string?)v,
            JsonArray named => named.Select(n => n?["name"]?.ToString() == "default" ? (string?)n["template"] : null).FirstOrDefault(t => t is not null),
            _ => null,
        };
        // transformers' {% generation %} marks the trained span (for assistant masks) and renders nothing; llama.cpp's Jinja
        // engine does not know the tag, so it is dropped: the rendered text is the same.
        if (template is not null) template = GenerationTag().Replace(template, "");
        return new GgufVocabulary(tokens, types, merges, PreTokenizerName(json, merges.Length),
            tokenizer.BosId ?? configBos, tokenizer.EosId ?? configEos, tokenizer.PadId, addBos, addEos, template);
    }

    [GeneratedRegex(@"\{%-?\s*(end)?generation\s*-?%\}")]
    private static partial Regex GenerationTag();

    /// <summary>llama.cpp's name (<c>tokenizer.ggml.pre</c>) for the split tokenizer.json's pre_tokenizer makes.</summary>
    static string PreTokenizerName(JsonObject json, int mergeCount)
    {
        var pre = json["pre_tokenizer"] as JsonObject;
        var steps = (string?)pre?["type"] == "Sequence" ? (pre!["pretokenizers"] as JsonArray ?? []).OfType<JsonObject>().ToList()
            : pre is null ? [] : [pre];
        var splits = steps.Where(s => (string?)s["type"] == "Split").Select(s => (string?)s["pattern"]?["Regex"]).ToList();
        if (splits.Count == 1 && splits[0] is { } regex && KnownSplits.TryGetValue(regex, out var name)) return name;
        // No merges: every byte is its own token, so how the text is split first cannot change the ids.
        if (splits.Count == 0 && mergeCount == 0) return "gpt-2";
        if (splits.Count == 0 && steps.Count == 1 && (string?)steps[0]["type"] == "ByteLevel" && steps[0]["use_regex"]?.GetValue<bool>() != false)
            return "gpt-2";
        throw new NotSupportedException(
            $"tokenizer.json's pre_tokenizer ({pre?.ToJsonString() ?? "none"}) is not one GGUF export maps to a llama.cpp pre-tokenizer; " +
            "supported: Qwen2/Qwen3's and Llama 3's regex splits and GPT-2's byte-level split.");
    }
}
