namespace Aha.Preferences;

/// <summary>One completion put before a labeler: its text, its length in tokens, and the task verifier's verdict (a judge may ignore it).</summary>
public sealed record LabelCandidate(string Text, int Tokens, bool Correct);

/// <summary>A judgement asked for: which of <paramref name="A"/> and <paramref name="B"/> answers <paramref name="Prompt"/> better.</summary>
/// <param name="Index">The request's position in the collection (0, 1, …): a seeded labeler draws its randomness from it, so a run repeats.</param>
public sealed record LabelRequest(string Prompt, LabelCandidate A, LabelCandidate B, long Index);

/// <summary>A labeler's answer.</summary>
/// <param name="PrefersA">True when A is preferred.</param>
/// <param name="Reason">What decided it: <c>verifier</c> (one answer right, one wrong), <c>length</c> (the longer of two equally right or wrong), <c>coin</c> (no preference), or a judge's own word.</param>
/// <param name="Flipped">The labeler's noise reversed the decision it would have made (simulated labelers only).</param>
public sealed record PreferenceLabel(bool PrefersA, string Reason, bool Flipped)
{
    /// <summary>
    /// A soft label: the probability that A is the better answer (an AI judge's normalised choice probabilities, as in
    /// Constitutional AI), consistent with <see cref="PrefersA"/> (≥ 0.5 when A is preferred); null for a hard label.
    /// </summary>
    public double? ProbabilityA { get; init; }

    /// <summary>The probability that the preferred answer is the better one: 1 for a hard label.</summary>
    public double ChosenProbability => ProbabilityA is { } p ? (PrefersA ? p : 1 - p) : 1;
}

/// <summary>
/// Who labels preference pairs: the simulated human of <c>aha prefs</c> (<see cref="SimulatedLabeler"/>) today; a model or an
/// OpenAI-compatible judge (RLAIF, Constitutional AI) next. Each call is one label, one unit of the cost a comparison reports.
/// </summary>
public interface IPreferenceLabeler
{
    /// <summary>Written into every pair's <c>label_source</c> (e.g. <c>simulated-human</c>).</summary>
    string Source { get; }

    /// <summary>The label of one pair; null abstains (no pair is written, and the abstention is counted).</summary>
    PreferenceLabel? Label(LabelRequest request);
}
