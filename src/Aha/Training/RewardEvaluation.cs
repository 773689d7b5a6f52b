using Aha.Model;

namespace Aha.Training;

/// <summary>What a reward model does on held-out pairs.</summary>
/// <param name="Accuracy">Share of pairs where the chosen completion scores higher (ties count half).</param>
/// <param name="MeanMargin">Mean of r(chosen) − r(rejected).</param>
/// <param name="VerifierAgreement">Over pairs where exactly one completion is correct: share where the correct one scores higher (ties half); NaN when no pair says.</param>
/// <param name="VerifierPairs">How many pairs had exactly one correct completion.</param>
public sealed record RewardEvaluation(int Pairs, double Accuracy, double MeanMargin, double ChosenMean, double ChosenStd, double RejectedMean, double RejectedStd,
    double VerifierAgreement, int VerifierPairs, double CorrectMean, double WrongMean)
{
    /// <summary>Scores every pair with <paramref name="rm"/> (no gradients).</summary>
    public static RewardEvaluation Of(LlamaModel rm, IReadOnlyList<RewardPair> pairs, int batchSize = 16)
    {
        if (pairs.Count == 0) throw new ArgumentException("no held-out pairs to evaluate on; give --eval-pairs or a larger --eval-fraction.", nameof(pairs));
        var rows = pairs.Select(p => (IReadOnlyList<int>)p.ChosenRow).Concat(pairs.Select(p => (IReadOnlyList<int>)p.RejectedRow)).ToList();
        var scores = RewardModels.Score(rm, rows, batchSize);
        var chosen = scores[..pairs.Count];
        var rejected = scores[pairs.Count..];
        return FromScores(pairs, chosen, rejected);
    }

    /// <summary>The metrics from scores already computed (testable without a model).</summary>
    public static RewardEvaluation FromScores(IReadOnlyList<RewardPair> pairs, IReadOnlyList<float> chosen, IReadOnlyList<float> rejected)
    {
        static double Win(float a, float b) => a > b ? 1 : a == b ? 0.5 : 0;
        double accuracy = 0, margin = 0, agreement = 0;
        int decisive = 0;
        var correct = new List<double>();
        var wrong = new List<double>();
        for (int i = 0; i < pairs.Count; i++)
        {
            accuracy += Win(chosen[i], rejected[i]);
            margin += chosen[i] - rejected[i];
            if (pairs[i].ChosenCorrect is { } c) (c ? correct : wrong).Add(chosen[i]);
            if (pairs[i].RejectedCorrect is { } r) (r ? correct : wrong).Add(rejected[i]);
            if (!pairs[i].Decisive) continue;
            decisive++;
            agreement += pairs[i].ChosenCorrect == true ? Win(chosen[i], rejected[i]) : Win(rejected[i], chosen[i]);
        }
        int n = pairs.Count;
        return new RewardEvaluation(n, accuracy / n, margin / n, Mean(chosen), Std(chosen), Mean(rejected), Std(rejected),
            decisive == 0 ? double.NaN : agreement / decisive, decisive,
            correct.Count == 0 ? double.NaN : correct.Average(), wrong.Count == 0 ? double.NaN : wrong.Average());
    }

    /// <summary>The metrics as a metrics.jsonl row.</summary>
    public IReadOnlyDictionary<string, double> Scalars() => new Dictionary<string, double>
    {
        ["eval_accuracy"] = Accuracy, ["eval_margin"] = MeanMargin,
        ["eval_chosen_mean"] = ChosenMean, ["eval_chosen_std"] = ChosenStd, ["eval_rejected_mean"] = RejectedMean, ["eval_rejected_std"] = RejectedStd,
        ["eval_verifier_agreement"] = VerifierAgreement, ["eval_verifier_pairs"] = VerifierPairs,
        ["eval_correct_mean"] = CorrectMean, ["eval_wrong_mean"] = WrongMean,
    };

    static double Mean(IReadOnlyList<float> values) => values.Count == 0 ? double.NaN : values.Average(v => (double)v);

    static double Std(IReadOnlyList<float> values)
    {
        if (values.Count == 0) return double.NaN;
        double mean = Mean(values);
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
    }
}
