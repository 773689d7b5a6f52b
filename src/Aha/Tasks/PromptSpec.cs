using Aha.Tokenizer;

namespace Aha.Tasks;

/// <summary>
/// One problem as a model reads it and where its completion ends: prompt ids and text, stop ids and stop strings. Built
/// once by <see cref="For"/>, so GRPO, eval, the GRPO bench and <c>aha tasks sample</c> cannot drift apart; with it the
/// one seed rule of sampled completions, <see cref="SampleSeed"/>.
/// </summary>
/// <param name="Ids">Prompt ids: <c>tokenizer(text)</c> with its default special tokens (BOS where it has one), or the chat template's ids.</param>
/// <param name="Text">The prompt without BOS, for reports and reward functions (chat style: the template's text, special tokens written out).</param>
/// <param name="StopIds">Ids that end a completion: the tokenizer's end of text and end of turn.</param>
/// <param name="StopStrings">Text that ends a completion (kept in it): an R1 answer ends at <see cref="AnswerEnd"/>.</param>
public sealed record PromptSpec(int[] Ids, string Text, IReadOnlyList<int> StopIds, IReadOnlyList<string> StopStrings)
{
    /// <summary>The closing answer tag that ends an R1-style completion: what follows it is never read by a verifier.</summary>
    public const string AnswerEnd = "</answer>";
    /// <summary>Seed distance between consecutive steps of a run.</summary>
    public const long StepSeedStride = 1_000_003;
    /// <summary>Seed distance between consecutive prompts of a step; more samples per prompt than this would share seeds.</summary>
    public const int PromptSeedStride = 1_009;

    /// <summary>The prompt of <paramref name="item"/> in <paramref name="style"/> for a model with <paramref name="tokenizer"/>.</summary>
    /// <remarks>
    /// R1Zero and Short are the task's text encoded as <c>tokenizer(text)</c> encodes it (special-token text in a problem
    /// becomes its id, as in Hugging Face). Chat is the system and user messages of <see cref="Prompts.Messages"/> through the
    /// tokenizer's own chat template, ending with the open assistant turn.
    /// </remarks>
    public static PromptSpec For(ITokenizer tokenizer, ITask task, TaskItem item, PromptStyle style)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(item);
        int[] ids;
        string text;
        if (style == PromptStyle.Chat)
        {
            var messages = Prompts.Messages(item.Prompt);
            ids = tokenizer.EncodeChat(messages);
            text = WithoutBos(tokenizer, tokenizer.RenderChat(messages));
        }
        else
        {
            text = task.Render(item, style);
            ids = tokenizer.Encode(text, addSpecialTokens: true);
        }
        return new PromptSpec(ids, text, tokenizer.StopIds, [AnswerEnd]);
    }

    /// <summary>
    /// The seed of sample <paramref name="sample"/> of prompt <paramref name="prompt"/> at step <paramref name="step"/>:
    /// arithmetic, so a resumed or repeated run draws the same samples. Evaluation uses step 0.
    /// </summary>
    public static long SampleSeed(long seed, long step, int prompt, int sample) =>
        seed + step * StepSeedStride + prompt * (long)PromptSeedStride + sample;

    static string WithoutBos(ITokenizer tokenizer, string rendered) =>
        tokenizer.BosId is { } bos && tokenizer.IdToToken(bos) is { Length: > 0 } bosText && rendered.StartsWith(bosText, StringComparison.Ordinal)
            ? rendered[bosText.Length..] : rendered;
}
