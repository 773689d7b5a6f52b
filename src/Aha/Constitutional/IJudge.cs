namespace Aha.Constitutional;

/// <summary>How a judge's answer becomes a label.</summary>
public enum JudgeMode
{
    /// <summary>The normalised probabilities of the two choice tokens (Bai et al. 2022): p(A) = P(A) / (P(A) + P(B)).</summary>
    Soft,
    /// <summary>One sampled answer: A gives 1, B gives 0, anything else abstains.</summary>
    Hard,
}

/// <summary>A feedback model: asked which of two responses better follows a principle.</summary>
public interface IJudge
{
    /// <summary>For the label source, e.g. <c>model:runs/judge</c> or <c>endpoint:gpt-4o-mini</c>.</summary>
    string Name { get; }

    JudgeMode Mode { get; }

    /// <summary>The probability that <paramref name="a"/> is the better answer to <paramref name="prompt"/>; null when the judge gave no usable answer.</summary>
    /// <param name="seed">Seeds a sampled (hard) answer.</param>
    double? ProbabilityA(string prompt, string a, string b, Principle principle, long seed);
}
