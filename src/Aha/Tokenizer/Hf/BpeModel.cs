using System.Collections.Concurrent;
using System.Text.Json;

namespace Aha.Tokenizer.Hf;

/// <summary>
/// The <c>model</c> of a Hugging Face <c>tokenizer.json</c> of type BPE: vocabulary, ranked merges and the merge loop of
/// Rust's <c>tokenizers::models::bpe</c> (lowest rank first, leftmost on ties), with a cache per pre-token word.
/// </summary>
sealed class BpeModel
{
    readonly Dictionary<string, int> vocab;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocabBySpan;
    readonly string?[] idToToken;
    // Key: left id << 32 | right id. Value: rank << 32 | merged id (one long, so the hot lookup is one probe).
    readonly Dictionary<long, long> merges;
    readonly bool ignoreMerges;
    // SentencePiece-style files: a character outside the vocabulary becomes its UTF-8 bytes as <0xNN> tokens
    // (byte_fallback), else the unknown token, runs of which fuse_unk makes one.
    int unkId = -1;
    bool fuseUnk, byteFallback;
    // Ids of one-character words for the characters the byte-level alphabet uses (U+0000..U+01FF), -1 when absent.
    readonly int[] charIds = new int[0x200];
    readonly ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> cacheBySpan;
    const int CacheCapacity = 100_000;
    const int MaxVocabularyId = (1 << 24) - 1;
    const int MaxCachedWordLength = 256;

    BpeModel(Dictionary<string, int> vocab, Dictionary<long, long> merges, bool ignoreMerges)
    {
        this.vocab = vocab;
        vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        this.merges = merges;
        this.ignoreMerges = ignoreMerges;
        idToToken = new string?[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1];
        foreach (var (token, id) in vocab) idToToken[id] = token;
        for (int c = 0; c < charIds.Length; c++) charIds[c] = vocab.TryGetValue(((char)c).ToString(), out var id) ? id : -1;
        cacheBySpan = cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int MaxId => idToToken.Length - 1;

    /// <summary>Entries in the vocabulary (Rust's <c>get_vocab_size</c>, which numbers new added tokens from here).</summary>
    public int Count => vocab.Count;

    public int? TokenToId(string token) => vocab.TryGetValue(token, out var id) ? id : null;

    public string? IdToToken(int id) => id >= 0 && id < idToToken.Length ? idToToken[id] : null;

    /// <summary>Reads <c>model</c> (already checked to be BPE); <paramref name="where"/> names the file for errors.</summary>
    public static BpeModel Parse(JsonElement model, string where)
    {
        foreach (var field in new[] { "dropout", "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (!model.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) continue;
            if (v.ValueKind == JsonValueKind.String && v.GetString() == "") continue;
            throw Unsupported(where, $"model.{field}", v.GetRawText(), "null (as Llama, Qwen, DeepSeek and Mistral files have it)");
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            int id = entry.Value.GetInt32();
            // Ids index a table: a negative one cannot, and a huge one would allocate gigabytes (real vocabularies stop near 2^18).
            if (id is < 0 or > MaxVocabularyId)
                throw new InvalidDataException($"{where}: model.vocab[\"{entry.Name}\"] is {id}; an id must be between 0 and {MaxVocabularyId}. The file is damaged.");
            vocab[entry.Name] = id;
        }

        var merges = new Dictionary<long, long>(PairComparer.Instance);
        int rank = 0;
        foreach (var merge in model.GetProperty("merges").EnumerateArray())
        {
            string left, right;
            if (merge.ValueKind == JsonValueKind.String)
            {
                var parts = merge.GetString()!.Split(' ');
                if (parts.Length != 2)
                    throw new InvalidDataException($"{where}: model.merges[{rank}] is \"{merge.GetString()}\"; a merge is two tokens separated by one space.");
                (left, right) = (parts[0], parts[1]);
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2)
                (left, right) = (merge[0].GetString()!, merge[1].GetString()!);
            else
                throw new InvalidDataException($"{where}: model.merges[{rank}] is {merge.GetRawText()}; a merge is \"a b\" or [\"a\", \"b\"].");
            int a = Lookup(left), b = Lookup(right), merged = Lookup(left + right);
            // Rust collects the merges into a map, so a repeated pair keeps its last rank.
            merges[(long)a << 32 | (uint)b] = (long)rank << 32 | (uint)merged;
            rank++;

            int Lookup(string token) => vocab.TryGetValue(token, out var id) ? id
                : throw new InvalidDataException($"{where}: model.merges[{rank}] uses '{token}', which is not in model.vocab; the file is damaged or mixes two tokenizers.");
        }
        bool ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;
        int unk = -1;
        if (model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String)
            unk = vocab.TryGetValue(u.GetString()!, out var unkId) ? unkId
                : throw new InvalidDataException($"{where}: model.unk_token '{u.GetString()}' is not in model.vocab.");
        return new BpeModel(vocab, merges, ignoreMerges)
        {
            unkId = unk,
            fuseUnk = model.TryGetProperty("fuse_unk", out var fu) && fu.ValueKind == JsonValueKind.True,
            byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True,
        };
    }

    internal static InvalidDataException Unsupported(string where, string path, string found, string supported) =>
        new($"{where}: {path} is {found}, which Aha's tokenizer does not support (supported: {supported}). " +
            "Aha refuses rather than tokenize differently from Hugging Face.");

    /// <summary>Appends the ids of one pre-token <paramref name="word"/>, written in the vocabulary's alphabet.</summary>
    public void Tokenize(ReadOnlySpan<char> word, List<int> output)
    {
        if (word.IsEmpty) return;
        if (cacheBySpan.TryGetValue(word, out var cached)) { output.AddRange(cached); return; }
        var ids = Merge(word);
        if (word.Length <= MaxCachedWordLength)
        {
            // Rust's cache stops taking words when full; clearing keeps recent text fast without unbounded growth.
            if (cache.Count >= CacheCapacity) cache.Clear();
            cacheBySpan.TryAdd(word, ids);
        }
        output.AddRange(ids);
    }

    int[] Merge(ReadOnlySpan<char> word)
    {
        if (ignoreMerges && vocabBySpan.TryGetValue(word, out var whole)) return [whole];

        // Symbols as a linked list over the word's characters; a merged-away symbol has length 0.
        int n = 0;
        var ids = new int[word.Length * 4]; // a character is at most 4 byte-fallback tokens
        bool pendingUnk = false;
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < word.Length; i++)
        {
            int width = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            var c = word.Slice(i, width);
            i += width - 1;
            int id = width == 1 && c[0] < charIds.Length ? charIds[c[0]] : vocabBySpan.TryGetValue(c, out var cid) ? cid : -1;
            if (id >= 0)
            {
                if (pendingUnk) { ids[n++] = unkId; pendingUnk = false; }
                ids[n++] = id;
                continue;
            }
            if (byteFallback && ByteTokens(c, utf8, ids, ref n)) continue; // Rust leaves a pending unknown after these, as here
            if (unkId < 0) continue; // without unk_token Rust drops a character the vocabulary lacks
            if (pendingUnk && !fuseUnk) ids[n++] = unkId;
            pendingUnk = true;
        }
        if (pendingUnk) ids[n++] = unkId;
        if (n <= 1) return ids[..n];

        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; alive[i] = true; }

        // A min-heap of rank << 32 | position: Rust's order, lowest rank first, then the leftmost pair. Entries go stale
        // when a neighbour merges; a popped entry counts only if its pair still merges at that rank.
        var heap = new MinHeap(n);
        for (int i = 0; i + 1 < n; i++) Push(i, ids[i], ids[i + 1]);

        while (heap.Count > 0)
        {
            long top = heap.Pop();
            int pos = (int)top, rank = (int)(top >> 32);
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            if (!merges.TryGetValue((long)ids[pos] << 32 | (uint)ids[right], out var m) || (int)(m >> 32) != rank) continue;
            ids[pos] = (int)m;
            alive[right] = false;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;
            if (prev[pos] >= 0) Push(prev[pos], ids[prev[pos]], ids[pos]);
            if (next[pos] >= 0) Push(pos, ids[pos], ids[next[pos]]);
        }

        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i]) result.Add(ids[i]);
        return [.. result];

        bool ByteTokens(ReadOnlySpan<char> c, Span<byte> buffer, int[] output, ref int count)
        {
            int length = System.Text.Encoding.UTF8.GetBytes(c, buffer);
            Span<int> found = stackalloc int[4];
            for (int b = 0; b < length; b++)
                if (!vocab.TryGetValue($"<0x{buffer[b]:X2}>", out found[b])) return false;
            for (int b = 0; b < length; b++) output[count++] = found[b];
            return true;
        }

        void Push(int pos, int left, int rightId)
        {
            if (merges.TryGetValue((long)left << 32 | (uint)rightId, out var merge))
                heap.Push((merge >> 32) << 32 | (uint)pos);
        }
    }

    /// <summary>
    /// Hashes a pair key (left &lt;&lt; 32 | right) by Fibonacci multiplication: long's own hash (left ^ right) makes
    /// pairs with equal XOR collide, which slowed long SentencePiece words (no cache hits) several-fold.
    /// </summary>
    sealed class PairComparer : IEqualityComparer<long>
    {
        public static readonly PairComparer Instance = new();
        public bool Equals(long x, long y) => x == y;
        public int GetHashCode(long key) => (int)((ulong)key * 0x9E3779B97F4A7C15UL >> 32);
    }

    /// <summary>A binary min-heap of longs (PriorityQueue with tuple priorities was twice as slow on long words).</summary>
    sealed class MinHeap(int capacity)
    {
        long[] items = new long[Math.Max(4, capacity)];
        public int Count { get; private set; }

        public void Push(long value)
        {
            if (Count == items.Length) Array.Resize(ref items, items.Length * 2);
            int i = Count++;
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (items[parent] <= value) break;
                items[i] = items[parent];
                i = parent;
            }
            items[i] = value;
        }

        public long Pop()
        {
            long top = items[0];
            long last = items[--Count];
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= Count) break;
                if (child + 1 < Count && items[child + 1] < items[child]) child++;
                if (items[child] >= last) break;
                items[i] = items[child];
                i = child;
            }
            if (Count > 0) items[i] = last;
            return top;
        }
    }
}
