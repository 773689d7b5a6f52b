using System.Text;

namespace Aha.Tokenizer;

/// <summary>
/// Byte-level tokenizer: ids 0..255 are the UTF-8 bytes, 256..262 are special tokens, 263 is a spare
/// (vocabulary 264, a multiple of 8). Every string round-trips; any id sequence decodes without throwing.
/// </summary>
/// <remarks>
/// Saved as a Hugging Face <c>tokenizer.json</c> (BPE over GPT-2's byte-to-unicode alphabet, no merges), so
/// <c>AutoTokenizer</c> encodes text exactly as <see cref="Encode"/> with <c>parseSpecialTokens: true</c>
/// (Hugging Face always matches special-token text in its input; we do only when asked, so user text cannot forge a role).
/// </remarks>
public sealed class ByteTokenizer
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

    // UTF8Encoding's default replacement fallback gives U+FFFD per maximal invalid subsequence,
    // the same as Rust's String::from_utf8_lossy used by the Hugging Face ByteLevel decoder.
    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    ByteTokenizer() { }

    /// <summary>The one byte tokenizer; it has no settings.</summary>
    public static ByteTokenizer Default { get; } = new();

    /// <summary>The special tokens (id, text) in id order.</summary>
    public static IReadOnlyList<(int Id, string Text)> SpecialTokens { get; } =
        SpecialTexts.Select((text, i) => (Bos + i, text)).ToArray();

    /// <summary>True for ids 256 and above (special tokens and the spare).</summary>
    public static bool IsSpecial(int id) => id >= Bos;

    /// <summary>The text of a special token id, e.g. <c>&lt;|end|&gt;</c>.</summary>
    public static string SpecialText(int id) => id is >= Bos and < Spare
        ? SpecialTexts[id - Bos]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"not a special token id (special tokens are {Bos}..{Spare - 1}).");

    /// <summary>
    /// UTF-8 bytes of <paramref name="text"/> as ids. Special-token text such as <c>&lt;|end|&gt;</c> stays plain bytes
    /// unless <paramref name="parseSpecialTokens"/> is set. Lone UTF-16 surrogates (not Unicode) become U+FFFD.
    /// </summary>
    public int[] Encode(string text, bool parseSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!parseSpecialTokens) return EncodeBytes(text);
        var ids = new List<int>(text.Length + 8);
        int start = 0;
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

    static int[] EncodeBytes(string text)
    {
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

    /// <summary>Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json into <paramref name="directory"/>.</summary>
    /// <param name="directory">Existing folder to write into.</param>
    /// <param name="modelMaxLength">Longest sequence the model accepts (its <c>max_position_embeddings</c>).</param>
    public void Save(string directory, int modelMaxLength)
    {
        foreach (var (name, text) in TokenizerFiles.Render(modelMaxLength))
            File.WriteAllText(Path.Combine(directory, name), text, Utf8);
    }

    /// <summary>
    /// Reads <c>tokenizer.json</c> (a file, or the folder holding it) and checks that it is this byte tokenizer;
    /// any other tokenizer is refused with a message saying what differs.
    /// </summary>
    public static ByteTokenizer Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, TokenizerFiles.TokenizerJson) : path;
        if (!File.Exists(file))
            throw new FileNotFoundException($"{file}: no tokenizer.json here. Save one with ByteTokenizer.Save or point at a checkpoint folder.", file);
        TokenizerFiles.Verify(File.ReadAllText(file), file);
        return Default;
    }
}
