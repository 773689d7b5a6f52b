using System.Buffers;
using System.Text;
using System.Text.Json;
using Aha.Tokenizer.Hf;
using Aha.Tokenizer.Jinja;

namespace Aha.Tokenizer;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> tokenizer (byte-level BPE as Llama 3, Qwen2/2.5/3 and DeepSeek-V3/R1 ship it;
/// SentencePiece-style BPE with byte fallback as Llama 2, Mistral and TinyLlama ship it),
/// giving the ids of transformers' <c>PreTrainedTokenizerFast</c>: added tokens matched in text, NFC where declared,
/// the pre-tokenizer's regex splits, BPE merges, the post-processor's BOS where declared. Components it does not
/// implement are refused when loading, naming the file and JSON path, never tokenized differently.
/// </summary>
public sealed class HfTokenizer : ITokenizer
{
    readonly string directory;
    readonly BpeModel model;
    readonly PreTokenizer preTokenizer;
    readonly TokenizerPipeline pipeline;
    readonly HfConfig config;
    readonly AddedTokenMatcher rawMatcher, normalizedMatcher;
    readonly Dictionary<int, AddedToken> addedById = [];
    readonly Dictionary<string, AddedToken> addedByContent = new(StringComparer.Ordinal);
    // Byte → the character standing for it in a byte-level vocabulary.
    static readonly char[] ByteChars = [.. TokenizerFiles.ByteToUnicode.Select(s => s[0])];

    HfTokenizer(string directory, BpeModel model, PreTokenizer preTokenizer, TokenizerPipeline pipeline, HfConfig config, List<AddedToken> added)
    {
        this.directory = directory;
        this.model = model;
        this.preTokenizer = preTokenizer;
        this.pipeline = pipeline;
        this.config = config;
        foreach (var token in added) { addedById[token.Id] = token; addedByContent.TryAdd(token.Content, token); }
        rawMatcher = new AddedTokenMatcher(added.Where(t => !t.Normalized).Select(t => (t.Content, t)));
        normalizedMatcher = new AddedTokenMatcher(added.Where(t => t.Normalized).Select(t => (Normalize(t.Content), t)));

        VocabSize = Math.Max(model.MaxId, added.Count == 0 ? -1 : added.Max(t => t.Id)) + 1;
        BosId = config.BosToken is { } bos ? TokenToId(bos) : null;
        EosId = config.EosToken is { } eos ? TokenToId(eos) : null;
        PadId = (config.PadToken is { } pad ? TokenToId(pad) : null) ?? EosId ?? 0;
        var stops = new List<int>();
        if (EosId is { } e) stops.Add(e);
        foreach (var endOfTurn in new[] { "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<｜end▁of▁sentence｜>" })
            if (TokenToId(endOfTurn) is { } id) stops.Add(id);
        stops.AddRange(config.GenerationEosIds);
        StopIds = [.. stops.Distinct()];

        // transformers' LlamaTokenizerFast replaces the file's post-processor by BOS/EOS per add_bos_token (default
        // true) and add_eos_token (default false); DeepSeek-V3/R1 ship that class, so tokenizer(text) starts with BOS.
        if (config.TokenizerClass is "LlamaTokenizerFast" or "LlamaTokenizer")
        {
            bool addBos = config.AddBosToken ?? true, addEos = config.AddEosToken ?? false;
            if (addBos && BosId is null || addEos && EosId is null)
                throw new InvalidDataException($"{Path.Combine(directory, HfConfig.ConfigFile)}: add_bos_token/add_eos_token is true but " +
                    "bos_token/eos_token names no token of tokenizer.json (transformers refuses this too); fix the token or set the flag false.");
            pipeline.ReplacePostProcessor(addBos ? BosId : null, addEos ? EosId : null);
        }
    }

    /// <summary>
    /// Loads <c>tokenizer.json</c> and <c>tokenizer_config.json</c> (with <c>special_tokens_map.json</c> and
    /// <c>generation_config.json</c> when present) from <paramref name="directory"/>.
    /// </summary>
    public static HfTokenizer Load(string directory)
    {
        var path = Path.Combine(directory, TokenizerFiles.TokenizerJson);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found; a Hugging Face model folder holds tokenizer.json beside config.json.", path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message}). Copy the file again from the model it came from.", e); }
        // Parsed before the try below, so its own errors name tokenizer_config.json rather than tokenizer.json.
        var config = HfConfig.Load(directory);
        using (doc)
        try
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: the top level is {root.ValueKind}, not an object; this is not a Hugging Face tokenizer.json.");
            if (!root.TryGetProperty("model", out var m) || m.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: no model object; this is not a Hugging Face tokenizer.json.");
            var type = m.TryGetProperty("type", out var t) ? t.GetString() : "BPE"; // Rust infers BPE from vocab + merges
            if (type != "BPE") throw BpeModel.Unsupported(path, "model.type", $"'{type}'", "BPE");
            foreach (var field in new[] { "truncation", "padding" })
                if (root.TryGetProperty(field, out var f) && f.ValueKind != JsonValueKind.Null)
                    throw BpeModel.Unsupported(path, field, f.GetRawText(), "null");

            var model = BpeModel.Parse(m, path);
            var pre = PreTokenizer.Parse(root.TryGetProperty("pre_tokenizer", out var p) ? p : null, path);
            var added = new List<AddedToken>();
            var assigned = new Dictionary<string, int>(StringComparer.Ordinal);
            int maxAssigned = -1;
            if (root.TryGetProperty("added_tokens", out var at))
                foreach (var a in at.EnumerateArray())
                {
                    bool special = Flag(a, "special", false);
                    var content = a.GetProperty("content").GetString()!;
                    // Rust ignores the file's "id": a token already known keeps its id, a new one takes the next free id
                    // after the model's vocabulary (AddedVocabulary::add_tokens). Files HF saved agree with this.
                    if (!assigned.TryGetValue(content, out var id))
                    {
                        id = model.TokenToId(content) ?? (maxAssigned >= model.Count || model.Count == 0 ? maxAssigned + 1 : model.Count);
                        assigned[content] = id;
                        maxAssigned = Math.Max(maxAssigned, id);
                    }
                    added.Add(new AddedToken(id, content, special,
                        Flag(a, "single_word", false), Flag(a, "lstrip", false), Flag(a, "rstrip", false), Flag(a, "normalized", !special)));
                }
            var pipeline = TokenizerPipeline.Parse(root, path, token => assigned.TryGetValue(token, out var id) ? id : model.TokenToId(token));
            return new HfTokenizer(directory, model, pre, pipeline, config, added);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException or OverflowException)
        {
            // JsonElement's accessors throw these on a field of the wrong kind (a string where a number belongs, an
            // integer out of range, a lone surrogate in a string): a damaged or foreign file, not a bug of the caller.
            throw new InvalidDataException($"{path}: a field has the wrong JSON type or invalid text ({e.Message}). Copy the file again from the model it came from.", e);
        }

        static bool Flag(JsonElement e, string name, bool fallback) =>
            e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
    }

    /// <inheritdoc/>
    public int VocabSize { get; }
    /// <inheritdoc/>
    public int? BosId { get; }
    /// <inheritdoc/>
    public int? EosId { get; }
    /// <inheritdoc/>
    public int PadId { get; }
    /// <inheritdoc/>
    public IReadOnlyList<int> StopIds { get; }

    // The Jinja renderer; tests swap in a plain C# template to check EncodeChatForTraining's bookkeeping on its own.
    internal Func<string, string, IReadOnlyList<ChatMessage>, ChatOptions, IReadOnlyDictionary<string, object?>, string> Renderer { get; set; }
        = ChatTemplateRenderer.Render;

    /// <summary>The chat template of tokenizer_config.json, or null.</summary>
    public string? ChatTemplate => config.ChatTemplate;

    string Normalize(string text) => pipeline.Normalize(text);

    /// <inheritdoc/>
    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(pipeline.Prefix);
        var raw = new List<(AddedToken? Token, string Text)>();
        rawMatcher.Split(text, raw);
        var normalized = new List<(AddedToken? Token, string Text)>();
        var words = new List<string>();
        foreach (var (token, piece) in raw)
        {
            if (token is not null) { ids.Add(token.Id); continue; }
            normalized.Clear();
            normalizedMatcher.Split(Normalize(piece), normalized);
            foreach (var (token2, piece2) in normalized)
            {
                if (token2 is not null) { ids.Add(token2.Id); continue; }
                words.Clear();
                preTokenizer.Split(piece2, words);
                foreach (var word in words) TokenizeWord(word, ids);
            }
        }
        if (addSpecialTokens) ids.AddRange(pipeline.Suffix);
        return [.. ids];
    }

    void TokenizeWord(string word, List<int> ids)
    {
        // Without ByteLevel (SentencePiece-style files) the vocabulary is written in the text's own characters.
        if (!preTokenizer.ByteLevel) { model.Tokenize(word, ids); return; }
        // ByteLevel: the word's UTF-8 bytes, each written as its character of the vocabulary's alphabet.
        int max = Encoding.UTF8.GetMaxByteCount(word.Length);
        byte[]? rentedBytes = null;
        char[]? rentedChars = null;
        Span<byte> bytes = max <= 512 ? stackalloc byte[512] : (rentedBytes = ArrayPool<byte>.Shared.Rent(max));
        int n = Encoding.UTF8.GetBytes(word, bytes);
        Span<char> chars = n <= 512 ? stackalloc char[512] : (rentedChars = ArrayPool<char>.Shared.Rent(n));
        for (int i = 0; i < n; i++) chars[i] = ByteChars[bytes[i]];
        model.Tokenize(chars[..n], ids);
        if (rentedBytes is not null) ArrayPool<byte>.Shared.Return(rentedBytes);
        if (rentedChars is not null) ArrayPool<char>.Shared.Return(rentedChars);
    }

    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            // Rust drops ids it cannot name.
            var token = addedById.TryGetValue(id, out var a) ? a.Content : model.IdToToken(id);
            if (token is null || skipSpecialTokens && a is { Special: true }) continue;
            tokens.Add(token);
        }
        var text = pipeline.Decode(tokens);
        return config.CleanUpTokenizationSpaces ? CleanUpTokenization(text) : text;
    }

    /// <summary>transformers' <c>clean_up_tokenization</c>: removes the space before punctuation and English contractions.</summary>
    static string CleanUpTokenization(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");

    /// <inheritdoc/>
    public int? TokenToId(string token) => addedByContent.TryGetValue(token, out var a) ? a.Id : model.TokenToId(token);

    /// <inheritdoc/>
    public string? IdToToken(int id) => addedById.TryGetValue(id, out var a) ? a.Content : model.IdToToken(id);

    /// <inheritdoc/>
    public bool IsSpecial(int id) => addedById.TryGetValue(id, out var a) && a.Special;

    /// <inheritdoc/>
    public string RenderChat(IReadOnlyList<ChatMessage> messages, ChatOptions? options = null)
    {
        var template = config.ChatTemplate ?? throw new InvalidOperationException(
            $"{Path.Combine(directory, HfConfig.ConfigFile)} has no chat_template; use a chat (Instruct) model's tokenizer files or a plain-text prompt.");
        var specials = new Dictionary<string, object?>
        {
            ["bos_token"] = config.BosToken, ["eos_token"] = config.EosToken, ["pad_token"] = config.PadToken, ["unk_token"] = config.UnkToken,
        };
        return Renderer(template, Path.Combine(directory, HfConfig.ConfigFile), messages, options ?? new ChatOptions(), specials);
    }

    /// <inheritdoc/>
    public int[] EncodeChat(IReadOnlyList<ChatMessage> messages, ChatOptions? options = null) =>
        // apply_chat_template renders, then tokenizes with add_special_tokens=False (the template writes BOS itself).
        Encode(RenderChat(messages, options), addSpecialTokens: false);

    /// <inheritdoc/>
    /// <remarks>
    /// Trained: each assistant message's content and its end-of-turn token (<c>&lt;|im_end|&gt;</c>, <c>&lt;|eot_id|&gt;</c>), not the
    /// template's glue after it (ChatML's newline), which the model never generates: it stops at end of turn. A template that
    /// rewrites earlier turns once later messages follow (Qwen3 drops earlier <c>&lt;think&gt;</c> blocks and gives only the
    /// turn after the last user message an empty one) cannot mark every turn as it will be rendered; then only the last assistant
    /// turn is trained, with all earlier turns as the context the template renders for it, which is exactly what the model sees
    /// when it writes that turn at inference.
    /// </remarks>
    public (int[] Ids, bool[] IsCompletion) EncodeChatForTraining(IReadOnlyList<ChatMessage> messages)
    {
        int last = -1;
        for (int i = 0; i < messages.Count; i++) if (messages[i].Role == "assistant") last = i;
        return TryEncodeTurns(messages, Enumerable.Range(0, messages.Count).Where(i => messages[i].Role == "assistant").ToList(), out var all, out _)
            ? all
            : TryEncodeTurns(messages, last < 0 ? [] : [last], out var lastOnly, out int failed) ? lastOnly
            : throw new InvalidDataException(
                $"{Path.Combine(directory, HfConfig.ConfigFile)}: the chat template renders the conversation up to message {failed} " +
                "differently from how it renders it once later messages follow, even for the last assistant turn alone, so its ids " +
                "cannot be marked. Train on conversations that end with the assistant turn to learn, or fix the template.");
    }

    // Cut points: before each trained assistant message (its prompt with the generation header) and after it (content and end of
    // turn). Each rendering must extend the previous one; false (with the message where it did not) when the template rewrites history.
    bool TryEncodeTurns(IReadOnlyList<ChatMessage> messages, List<int> turns, out (int[] Ids, bool[] IsCompletion) result, out int failed)
    {
        var cuts = new List<(string Text, bool CompletionBefore, int Message)>();
        foreach (int i in turns)
        {
            cuts.Add((RenderChat(messages.Take(i).ToList(), new ChatOptions { AddGenerationPrompt = true }), false, i));
            cuts.Add((RenderChat(messages.Take(i + 1).ToList(), new ChatOptions { AddGenerationPrompt = false }), true, i));
        }
        cuts.Add((RenderChat(messages, new ChatOptions { AddGenerationPrompt = false }), false, messages.Count));

        var ids = new List<int>();
        var mask = new List<bool>();
        string previous = "";
        var stops = StopIds.ToHashSet();
        foreach (var (text, completion, index) in cuts)
        {
            if (!text.StartsWith(previous, StringComparison.Ordinal))
            {
                (result, failed) = (default, index);
                return false;
            }
            // Each segment is tokenized alone, so an assistant turn's ids never straddle its boundary.
            var segment = Encode(text[previous.Length..], addSpecialTokens: false);
            int end = segment.Length;
            if (completion && Array.FindLastIndex(segment, stops.Contains) is >= 0 and var stop) end = stop + 1;
            ids.AddRange(segment);
            for (int k = 0; k < segment.Length; k++) mask.Add(completion && k < end);
            previous = text;
        }
        (result, failed) = (([.. ids], [.. mask]), -1);
        return true;
    }

    /// <summary>Copies the tokenizer files this tokenizer was loaded from into <paramref name="directory"/>, byte for byte.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var name in new[] { TokenizerFiles.TokenizerJson, HfConfig.ConfigFile, HfConfig.SpecialTokensMapFile, HfConfig.GenerationConfigFile })
        {
            var source = Path.Combine(this.directory, name);
            var target = Path.Combine(directory, name);
            if (!File.Exists(source) || Path.GetFullPath(source) == Path.GetFullPath(target)) continue;
            // Copy to a temporary name first so an interrupted save never leaves a half-written tokenizer.json.
            var temporary = target + ".tmp";
            File.Copy(source, temporary, overwrite: true);
            File.Move(temporary, target, overwrite: true);
        }
    }
}
