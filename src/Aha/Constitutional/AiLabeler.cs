using Aha.Preferences;

namespace Aha.Constitutional;

/// <summary>
/// RLAIF's labeler (Bai et al. 2022, RL-CAI): for each pair it samples a principle of the constitution, asks the judge which
/// response better follows it, and returns the answer as a preference label. With <paramref name="BothOrders"/> it asks
/// twice, A-then-B and B-then-A, and averages p = ½[p(A | A, B) + 1 − p(A | B, A)]: the judge's position bias cancels, and
/// a pair asked in the other order gets exactly the mirrored label (each label then costs two judge calls). Soft judges give
/// soft labels (<see cref="PreferenceLabel.ProbabilityA"/>); a hard judge gives hard labels, and 0.5 when its two orders disagree.
/// Usable wherever an <see cref="IPreferenceLabeler"/> is, e.g. <see cref="PreferenceCollector.Collect"/>. Disposing it
/// disposes the judge when the judge is disposable (a <see cref="ModelJudge"/> that owns its model).
/// </summary>
public sealed record AiLabeler(IJudge Judge, Constitution Constitution, long Seed, bool BothOrders = true) : IPreferenceLabeler, IDisposable
{
    public string Source => $"ai:{Judge.Name}";

    public void Dispose() => (Judge as IDisposable)?.Dispose();

    /// <summary>Judge calls made (two per label with both orders).</summary>
    public long JudgeCalls { get; private set; }

    public PreferenceLabel? Label(LabelRequest request)
    {
        var principle = Constitution.Sample(Seed, request.Index);
        long seed = Seed * 1_000_003 + request.Index * 2;
        // The two orders are asked in a canonical order (by text), so a request and its swap make the same two calls.
        bool canonical = string.CompareOrdinal(request.A.Text, request.B.Text) <= 0;
        var (first, second) = canonical ? (request.A.Text, request.B.Text) : (request.B.Text, request.A.Text);
        JudgeCalls++;
        double? forward = Judge.ProbabilityA(request.Prompt, first, second, principle, seed);
        double? p = forward;
        if (BothOrders)
        {
            JudgeCalls++;
            double? backward = Judge.ProbabilityA(request.Prompt, second, first, principle, seed + 1);
            p = (forward, backward) switch
            {
                ({ } f, { } b) => 0.5 * (f + (1 - b)),
                ({ } f, null) => f,
                (null, { } b) => 1 - b,
                _ => null,
            };
        }
        if (p is not { } pFirst) return null;
        double pa = canonical ? pFirst : 1 - pFirst;
        bool hard = pa is 0 or 1;
        return new PreferenceLabel(pa > 0.5 || (pa == 0.5 && canonical), principle.Name, Flipped: false) { ProbabilityA = hard ? null : pa };
    }
}
