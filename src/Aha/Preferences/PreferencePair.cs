using Aha.Tokenizer;

namespace Aha.Preferences;

/// <summary>
/// One judgement: given the prompt, <paramref name="Chosen"/> was preferred to <paramref name="Rejected"/>. The prompt is
/// either plain text (TRL's standard format: a completion follows the text directly) or a conversation (TRL's
/// conversational format: each completion is the assistant turn that follows, rendered by the model's chat template).
/// </summary>
/// <param name="PromptText">The plain-text prompt, or null when <paramref name="PromptMessages"/> is given.</param>
/// <param name="PromptMessages">The conversation before the judged assistant turn, or null when <paramref name="PromptText"/> is given.</param>
public sealed record PreferencePair(string? PromptText, IReadOnlyList<ChatMessage>? PromptMessages, string Chosen, string Rejected)
{
    /// <summary>Where the pair came from, for error messages and reports: <c>file.jsonl:12</c>, or the labeler that made it.</summary>
    public string Origin { get; init; } = "";
    /// <summary>How much better the chosen completion is (a score difference), when the data says; the RM's optional margin.</summary>
    public double? Margin { get; init; }
    /// <summary>
    /// Whether each completion is correct by the task's verifier, when the row says (<c>chosen_correct</c>,
    /// <c>rejected_correct</c>, as <c>aha prefs</c> writes them): the truth a reward model is checked against.
    /// </summary>
    public (bool Chosen, bool Rejected)? Correct { get; init; }
    /// <summary>
    /// A soft label (<c>chosen_probability</c>): the labeler's probability that <see cref="Chosen"/> is the better answer, in
    /// [0, 1]; null for a hard label (probability 1). The reward model trains toward it (a soft Bradley–Terry target).
    /// </summary>
    public double? ChosenProbability { get; init; }

    /// <summary>A pair on a plain-text prompt.</summary>
    public static PreferencePair Text(string prompt, string chosen, string rejected) => new(prompt, null, chosen, rejected);

    /// <summary>A pair on a conversation.</summary>
    public static PreferencePair Chat(IReadOnlyList<ChatMessage> prompt, string chosen, string rejected) => new(null, prompt, chosen, rejected);
}
