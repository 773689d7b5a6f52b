using System.Text.Json.Nodes;
using Aha.Model;
using Aha.Tests.Model;
using Aha.Training;
using static Aha.Tests.Training.TrainerFixtures;

namespace Aha.Tests.Training;

/// <summary>The next-token trainer with MLA, MoE and MTP switched on: auxiliary losses, router-bias updates, expert load in metrics.</summary>
public class DeepSeekV3TrainerTests
{
    static readonly ModelConfig V3 = Architectures.Apply(Config, "v3");
    const string Bias = "model.layers.1.mlp.gate.e_score_correction_bias";

    static float[] Buffer(LlamaModel model, string name) => model.state_dict()[name].data<float>().ToArray();

    [Fact]
    public void A_v3_model_trains_with_mtp_and_moe_and_the_router_bias_moves()
    {
        using var run = new TempDirectory();
        using var model = TinyModels.WithFormulaWeights(V3);
        var before = Weights(model);
        var biasBefore = Buffer(model, Bias);
        var reports = new List<StepReport>();
        var result = Trainer(model, Options with { Steps = 3 }, runDir: run.Path, onStep: reports.Add).Run();

        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.All(reports, r => Assert.True(double.IsFinite(r.Loss) && r.MtpLoss > 0, $"step {r.Step}: loss {r.Loss}, mtp {r.MtpLoss}"));
        Assert.All(reports, r => Assert.Equal([1, 2], r.ExpertLoads.Select(l => l.Layer))); // layer 0 dense; layer 2 is the MTP module
        Assert.All(reports, r => Assert.Equal(Options.TokensPerStep * 2, r.ExpertLoads[0].TokensPerExpert.Sum())); // top-2, dropless
        Assert.NotEqual(biasBefore, Buffer(model, Bias));
        string mtpWeight = $"model.layers.{V3.NumHiddenLayers}.eh_proj.weight";
        Assert.NotEqual(before[mtpWeight], Weights(model)[mtpWeight]); // the MTP loss reached its module

        var last = JsonNode.Parse(File.ReadLines(Path.Combine(run.Path, "metrics.jsonl")).Last(l => l.Contains("\"train\"", StringComparison.Ordinal)))!;
        foreach (var key in new[] { "mtp_loss", "balance_loss", "expert_load_max_over_mean", "expert_load_max_over_mean_layer1" })
            Assert.NotNull(last[key]);
        Assert.InRange(last["expert_load_max_over_mean"]!.GetValue<double>(), 1, Architectures.RoutedExperts / (double)Architectures.ExpertsPerToken);
    }

    [Fact]
    public void With_gamma_zero_the_router_bias_stays_and_with_lambda_zero_the_mtp_module_is_untouched()
    {
        using var model = TinyModels.WithFormulaWeights(V3);
        var biasBefore = Buffer(model, Bias);
        string mtpWeight = $"model.layers.{V3.NumHiddenLayers}.eh_proj.weight";
        var before = Weights(model)[mtpWeight];
        var reports = new List<StepReport>();
        Trainer(model, Options with { Steps = 2, BiasGamma = 0, MtpWeight = 0 }, onStep: reports.Add).Run();
        Assert.Equal(biasBefore, Buffer(model, Bias));
        Assert.Equal(before, Weights(model)[mtpWeight]);
        Assert.All(reports, r => Assert.Equal(0, r.MtpLoss));
        Assert.All(reports, r => Assert.NotEmpty(r.ExpertLoads)); // the load is still measured and logged
    }

    [Fact]
    public void Mla_alone_trains_like_the_dense_path_with_no_auxiliary_terms()
    {
        using var model = TinyModels.WithFormulaWeights(Architectures.Apply(Config, "mla"));
        var reports = new List<StepReport>();
        var result = Trainer(model, Options with { Steps = 2 }, onStep: reports.Add).Run();
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.All(reports, r => Assert.Empty(r.ExpertLoads));
        Assert.All(reports, r => Assert.Equal(0, r.MtpLoss));
    }
}
