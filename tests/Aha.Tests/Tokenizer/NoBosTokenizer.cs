using Aha.Tokenizer;

namespace Aha.Tests.Tokenizer;

/// <summary>
/// A stand-in for tokenizers without BOS (Qwen's): one id per UTF-16 char below 200, end of text 200, end of turn 201,
/// a ChatML-like template. Lets tests show that the seam's callers take BOS, stops and padding from the tokenizer.
/// </summary>
sealed class NoBosTokenizer : ITokenizer
{
    public const int Eos = 200, EndOfTurn = 201, Pad = 202;
    public int VocabSize => 208;
    public int? BosId => null;
    public int? EosId => Eos;
    public int PadId => Pad;
    public IReadOnlyList<int> StopIds => [Eos, EndOfTurn];

    public int[] Encode(string text, bool addSpecialTokens = false) =>
        [.. text.Select(c => c < 200 ? c : '?')];

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false) =>
        string.Concat(ids.Select(id => id < 200 ? ((char)id).ToString() : skipSpecialTokens ? "" : $"[{id}]"));

    public int? TokenToId(string token) => token.Length == 1 && token[0] < 200 ? token[0] : null;
    public string? IdToToken(int id) => id is >= 0 and < 200 ? ((char)id).ToString() : null;
    public bool IsSpecial(int id) => id >= 200;

    public string RenderChat(IReadOnlyList<ChatMessage> messages, ChatOptions? options = null) =>
        string.Concat(messages.Select(m => $"{m.Role}:{m.Content}|")) + ((options ?? new()).AddGenerationPrompt ? "assistant:" : "");

    public int[] EncodeChat(IReadOnlyList<ChatMessage> messages, ChatOptions? options = null) => Encode(RenderChat(messages, options));

    public (int[] Ids, bool[] IsCompletion) EncodeChatForTraining(IReadOnlyList<ChatMessage> messages)
    {
        var ids = new List<int>();
        var mask = new List<bool>();
        foreach (var m in messages)
        {
            var head = Encode($"{m.Role}:");
            var body = Encode(m.Content).Append(EndOfTurn).ToArray();
            ids.AddRange(head); mask.AddRange(head.Select(_ => false));
            ids.AddRange(body); mask.AddRange(body.Select(_ => m.Role == "assistant"));
        }
        return ([.. ids], [.. mask]);
    }

    public void Save(string directory) => throw new NotSupportedException("a test stand-in has no files.");
}
