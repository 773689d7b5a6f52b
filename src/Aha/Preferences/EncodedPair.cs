using Aha.Tokenizer;

namespace Aha.Preferences;

/// <summary>A pair as ids: the shared prompt, and each completion's ids that follow it (ending with its end-of-turn or EOS).</summary>
public sealed record EncodedPair(int[] Prompt, int[] Chosen, int[] Rejected)
{
    /// <summary>
    /// The ids of <paramref name="pair"/> as TRL's reward and DPO trainers build them. Plain text:
    /// <c>tokenizer(prompt)</c> (BOS where the tokenizer adds one), then <c>tokenizer(completion, add_special_tokens=False)</c>
    /// and EOS. Conversation: the chat template's prompt with the open assistant turn, then the assistant turn's own ids as
    /// <see cref="ITokenizer.EncodeChatForTraining"/> marks them (content and end-of-turn).
    /// </summary>
    /// <param name="maxLength">Longest prompt + completion; longer rows lose the prompt's start first (TRL's keep_end), then the completion's end.</param>
    public static EncodedPair Encode(ITokenizer tokenizer, PreferencePair pair, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(pair);
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "max length must be at least 2.");
        int[] prompt, chosen, rejected;
        if (pair.PromptMessages is { } messages)
        {
            prompt = tokenizer.EncodeChat(messages, new ChatOptions { AddGenerationPrompt = true });
            chosen = AssistantTurn(tokenizer, messages, pair.Chosen, pair.Origin);
            rejected = AssistantTurn(tokenizer, messages, pair.Rejected, pair.Origin);
        }
        else
        {
            prompt = tokenizer.Encode(pair.PromptText ?? "", addSpecialTokens: true);
            chosen = WithEos(tokenizer, tokenizer.Encode(pair.Chosen));
            rejected = WithEos(tokenizer, tokenizer.Encode(pair.Rejected));
        }
        int longest = Math.Max(chosen.Length, rejected.Length);
        int keepPrompt = Math.Clamp(maxLength - longest, Math.Min(1, prompt.Length), prompt.Length);
        prompt = prompt[^keepPrompt..];
        int room = maxLength - prompt.Length;
        return new EncodedPair(prompt, chosen[..Math.Min(room, chosen.Length)], rejected[..Math.Min(room, rejected.Length)]);
    }

    static int[] WithEos(ITokenizer tokenizer, int[] ids) => tokenizer.EosId is { } eos ? [.. ids, eos] : ids;

    // The completion ids of the whole conversation's last assistant turn: what the template writes for it, not a re-encoding
    // of its text alone (BPE merges across the header boundary would differ).
    static int[] AssistantTurn(ITokenizer tokenizer, IReadOnlyList<ChatMessage> prompt, string completion, string origin)
    {
        var (ids, scored) = tokenizer.EncodeChatForTraining([.. prompt, new ChatMessage("assistant", completion)]);
        int end = Array.LastIndexOf(scored, true) + 1; // a template may write unscored text after the turn ("\n")
        if (end == 0)
            throw new InvalidDataException($"{(origin.Length > 0 ? origin + ": " : "")}the chat template produced no assistant tokens for a completion; check the template renders assistant turns.");
        int start = Array.LastIndexOf(scored, false, end - 1) + 1;
        return ids[start..end];
    }
}
