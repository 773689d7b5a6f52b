using Aha.Tasks;

namespace Aha.Preferences;

/// <summary>
/// A stand-in for human labelers with their two best-known flaws. It prefers the completion the task's verifier accepts;
/// when both are equally right (or equally wrong) it prefers the longer text with probability <paramref name="LengthBias"/>
/// and otherwise flips a coin; then it reverses a share <paramref name="LabelNoise"/> of all its labels. Randomness comes
/// from (<paramref name="Seed"/>, request index) alone, so the same requests get the same labels.
/// </summary>
public sealed record SimulatedLabeler(double LabelNoise, double LengthBias, long Seed) : IPreferenceLabeler
{
    public string Source => "simulated-human";

    public SimulatedLabeler Validate()
    {
        if (LabelNoise is < 0 or > 1 || double.IsNaN(LabelNoise)) throw new ArgumentException($"--label-noise {LabelNoise}: must be in [0, 1] (0.2 flips one label in five).");
        if (LengthBias is < 0 or > 1 || double.IsNaN(LengthBias)) throw new ArgumentException($"--length-bias {LengthBias}: must be in [0, 1] (the chance the longer of two equally good answers wins; 0 = a coin flip).");
        return this;
    }

    public PreferenceLabel Label(LabelRequest request)
    {
        var random = StableRandom.For(Seed, request.Index);
        double lengthDraw = random.NextDouble(), coin = random.NextDouble(), noise = random.NextDouble(); // always three draws: one decision never shifts another's
        var (a, b) = (request.A, request.B);
        bool prefersA;
        string reason;
        if (a.Correct != b.Correct) (prefersA, reason) = (a.Correct, "verifier");
        else if (a.Text.Length != b.Text.Length && lengthDraw < LengthBias) (prefersA, reason) = (a.Text.Length > b.Text.Length, "length");
        else (prefersA, reason) = (coin < 0.5, "coin");
        bool flipped = noise < LabelNoise;
        return new PreferenceLabel(prefersA != flipped, reason, flipped);
    }

    PreferenceLabel? IPreferenceLabeler.Label(LabelRequest request) => Label(request);
}
