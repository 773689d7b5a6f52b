namespace Aha.Eval;

/// <summary>One problem's samples summarised: n, c, pass@k (unbiased) and whether the majority answer of the first k is right.</summary>
public sealed record ProblemResult(
    string Id,
    string Answer,
    int Samples,
    int Correct,
    IReadOnlyDictionary<int, double> PassAtK,
    IReadOnlyDictionary<int, bool> MajAtK,
    string? MajorityAnswer)
{
    public double Accuracy => (double)Correct / Samples;
}
