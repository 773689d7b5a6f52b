using System.Text;

namespace Aha.Tokenizer;

/// <summary>
/// Byte-level tokenizer: ids 0..255 are the UTF-8 bytes, 256..262 are special tokens, 263 is a spare
/// (vocabulary 264, a multiple of 8). Every string round-trips; any id sequence decodes without throwing.
/// </summary>
/// <remarks>
/// Saved as a Hugging Face <c>tokenizer.json</c> (BPE over GPT-2's byte-to-unicode alphabet, no merges, a post-processor
/// adding <c>&lt;|bos|&gt;</c>), so <c>AutoTokenizer</c> gives the ids of <see cref="Encode"/> for the same
/// <c>add_special_tokens</c>. Chat messages are the exception: <see cref="EncodeChat"/> keeps message content plain bytes,
/// so a user who types <c>&lt;|end|&gt;</c> cannot end a turn or forge a role (transformers' <c>apply_chat_template</c>
/// would read that text as the special token).
/// </remarks>
public sealed class ByteTokenizer : ITokenizer
{
    /// <summary>Begin of text.</summary>
    public const int Bos = 256;
    /// <summary>End of text.</summary>
    public const int Eos = 257;
    /// <summary>Padding.</summary>
    public const int Pad = 258;
    /// <summary>Starts a system turn.</summary>
    public const int System = 259;
    /// <summary>Starts a user turn.</summary>
    public const int User = 260;
    /// <summary>Starts an assistant turn.</summary>
    public const int Assistant = 261;
    /// <summary>Ends a turn (any role).</summary>
    public const int End = 262;
    /// <summary>Unused id kept so the vocabulary is a multiple of 8; decodes to nothing.</summary>
    public const int Spare = 263;
    /// <summary>Number of ids, matching <c>ModelConfig.VocabSize</c>'s default.</summary>
    public const int VocabSize = 264;

    static readonly string[] SpecialTexts =
        ["<|bos|>", "<|eos|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"];

    static readonly int[] Stops = [Eos, End];

    // UTF8Encoding's default replacement fallback gives U+FFFD per maximal invalid subsequence,
    // the same as Rust's String::from_utf8_lossy used by the Hugging Face ByteLevel decoder.
    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <param name="modelMaxLength">
    /// Written as tokenizer_config.json's <c>model_max_length</c> (the model's <c>max_position_embeddings</c>); null leaves
    /// it out, which transformers reads as "no limit".
    /// </param>
    public ByteTokenizer(int? modelMaxLength = null)
    {
        if (modelMaxLength is <= 0)
            throw new ArgumentOutOfRangeException(nameof(modelMaxLength), modelMaxLength, "model_max_length must be positive (the model's context length).");
        ModelMaxLength = modelMaxLength;
    }

    /// <summary>The byte tokenizer without a <c>model_max_length</c>; the ids are the same for every instance.</summary>
    public static ByteTokenizer Default { get; } = new();

    /// <summary>Longest sequence the model accepts, as saved in tokenizer_config.json; null when unknown.</summary>
    public int? ModelMaxLength { get; }

    /// <summary>The special tokens (id, text) in id order.</summary>
    public static IReadOnlyList<(int Id, string Text)> SpecialTokens { get; } =
        SpecialTexts.Select((text, i) => (Bos + i, text)).ToArray();

    /// <summary>True for ids 256 and above (special tokens and the spare).</summary>
    public static bool IsSpecial(int id) => id >= Bos;

    /// <summary>The text of a special token id, e.g. <c>&lt;|end|&gt;</c>.</summary>
    public static string SpecialText(int id) => id is >= Bos and < Spare
        ? SpecialTexts[id - Bos]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"not a special token id (special tokens are {Bos}..{Spare - 1}).");

    int ITokenizer.VocabSize => VocabSize;
    /// <inheritdoc/>
    public int? BosId => Bos;
    /// <inheritdoc/>
    public int? EosId => Eos;
    /// <inheritdoc/>
    public int PadId => Pad;
    /// <summary>End of text and end of turn: <c>[&lt;|eos|&gt;, &lt;|end|&gt;]</c>.</summary>
    public IReadOnlyList<int> StopIds => Stops;
    bool ITokenizer.IsSpecial(int id) => IsSpecial(id);

    /// <summary>
    /// Ids of <paramref name="text"/> as Hugging Face gives them for the saved tokenizer.json: special-token text such as
    /// <c>&lt;|end|&gt;</c> becomes its one id; with <paramref name="addSpecialTokens"/>, <c>&lt;|bos|&gt;</c> comes first.
    /// Lone UTF-16 surrogates (not Unicode) become U+FFFD.
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length + 8);
        if (addSpecialTokens) ids.Add(Bos);
        int start = 0;
        // No special text is a prefix of another, so the first match at each position is Hugging Face's longest match.
        for (int i = text.IndexOf("<|", StringComparison.Ordinal); i >= 0; i = text.IndexOf("<|", i + 1, StringComparison.Ordinal))
        {
            int special = Array.FindIndex(SpecialTexts, s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0);
            if (special < 0) continue;
            ids.AddRange(EncodeBytes(text[start..i]));
            ids.Add(Bos + special);
            start = i + SpecialTexts[special].Length;
            i = start - 1;
        }
        ids.AddRange(EncodeBytes(text[start..]));
        return [.. ids];
    }

    /// <summary>The UTF-8 bytes of <paramref name="text"/> as ids, special-token text included as plain bytes.</summary>
    public static int[] EncodeBytes(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes = Utf8.GetBytes(text);
        var ids = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) ids[i] = bytes[i];
        return ids;
    }

    /// <summary>
    /// Text of <paramref name="ids"/>. Invalid UTF-8 (a generation cut inside a character) becomes U+FFFD; special
    /// tokens appear as their text unless <paramref name="skipSpecialTokens"/>; the spare id decodes to nothing.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var text = new StringBuilder();
        var pending = new List<byte>();
        foreach (int id in ids)
        {
            CheckId(id);
            if (id < Bos) { pending.Add((byte)id); continue; }
            // Bytes on either side of a special token decode separately, as in Hugging Face.
            Flush();
            if (id != Spare && !skipSpecialTokens) text.Append(SpecialTexts[id - Bos]);
        }
        Flush();
        return text.ToString();

        void Flush()
        {
            if (pending.Count == 0) return;
            text.Append(Utf8.GetString(pending.ToArray()));
            pending.Clear();
        }
    }

    /// <summary>The raw bytes of the byte ids in <paramref name="ids"/>; special ids are skipped.</summary>
    public byte[] DecodeBytes(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            CheckId(id);
            if (id < Bos) bytes.Add((byte)id);
        }
        return [.. bytes];
    }

    static void CheckId(int id)
    {
        if (id is < 0 or >= VocabSize)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} is outside the vocabulary [0, {VocabSize}).");
    }

    /// <summary>A byte's symbol in GPT-2's alphabet (<c>Ġ</c> for a space) or a special token's text; null for anything else.</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        int special = Array.IndexOf(SpecialTexts, token);
        if (special >= 0) return Bos + special;
        int b = TokenizerFiles.UnicodeToByte.GetValueOrDefault(token, -1);
        return b >= 0 ? b : null;
    }

    /// <summary>The vocabulary entry of <paramref name="id"/>; null for the spare id, which tokenizer.json does not list.</summary>
    public string? IdToToken(int id) => id switch
    {
        >= 0 and < Bos => TokenizerFiles.ByteToUnicode[id],
        >= Bos and < Spare => SpecialTexts[id - Bos],
        _ => null,
    };

    /// <summary>
    /// The byte chat template: <c>&lt;|bos|&gt;</c>, per message its role token, content (plain bytes) and <c>&lt;|end|&gt;</c>,
    /// then <c>&lt;|assistant|&gt;</c> when <see cref="ChatOptions.AddGenerationPrompt"/>. Other options have no effect here.
    /// </summary>
    public int[] EncodeChat(IReadOnlyList<ChatMessage> messages, ChatOptions? options = null) =>
        ChatTemplate.Render(messages, (options ?? new ChatOptions()).AddGenerationPrompt);

    /// <summary>The text of <see cref="EncodeChat"/>: what the Jinja template in tokenizer_config.json renders.</summary>
    public string RenderChat(IReadOnlyList<ChatMessage> messages, ChatOptions? options = null) =>
        ChatTemplate.RenderText(messages, (options ?? new ChatOptions()).AddGenerationPrompt);

    /// <inheritdoc/>
    public (int[] Ids, bool[] IsCompletion) EncodeChatForTraining(IReadOnlyList<ChatMessage> messages) =>
        ChatTemplate.RenderForTraining(messages);

    /// <summary>Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json into <paramref name="directory"/> (an existing folder).</summary>
    public void Save(string directory)
    {
        foreach (var (name, text) in TokenizerFiles.Render(ModelMaxLength))
            File.WriteAllText(Path.Combine(directory, name), text, Utf8);
    }

    /// <summary>
    /// Reads <c>tokenizer.json</c> (a file, or the folder holding it) and checks that it is this byte tokenizer;
    /// any other tokenizer is refused with a message saying what differs. <c>model_max_length</c> comes from the
    /// tokenizer_config.json beside it, when there is one.
    /// </summary>
    public static ByteTokenizer Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, TokenizerFiles.TokenizerJson) : path;
        if (!File.Exists(file))
            throw new FileNotFoundException($"{file}: no tokenizer.json here. Save one with ByteTokenizer.Save or point at a checkpoint folder.", file);
        TokenizerFiles.Verify(File.ReadAllText(file), file);
        return new ByteTokenizer(TokenizerFiles.ReadModelMaxLength(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, TokenizerFiles.TokenizerConfigJson)));
    }
}
