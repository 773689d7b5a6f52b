using System.Globalization;
using Aha.Model;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>Tensor-by-tensor parity with tests/reference/deepseek_v3_reference.py (MLA + MoE + bias routing + MTP + balance loss).</summary>
public class DeepSeekV3ParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-5;

    [Fact]
    public void Logits_losses_and_every_gradient_match_the_pytorch_reference()
    {
        var (golden, metadata) = Golden.Read(Golden.PathOf("deepseek_v3"));
        var config = ModelConfig.FromJson(metadata["config"], "deepseek_v3.safetensors metadata");
        double mtpWeight = double.Parse(metadata["mtp_weight"], CultureInfo.InvariantCulture);
        double balanceWeight = double.Parse(metadata["balance_weight"], CultureInfo.InvariantCulture);
        using var model = TinyModels.WithFormulaWeights(config);
        using (no_grad())
            foreach (var (name, value) in golden.Where(kv => kv.Key.StartsWith("buffer.", StringComparison.Ordinal)))
                model.state_dict()[name["buffer.".Length..]].copy_(value);
        var log = new List<string>();
        try
        {
            var ids = golden["input_ids"];
            var targets = golden["targets"];
            var result = model.ForwardWithLosses(ids, targets, mtpWeight, balanceWeight);
            using var loss = nn.functional.cross_entropy(result.Logits.reshape(-1, config.VocabSize), targets.reshape(-1));
            Golden.AssertClose("logits", golden["logits"], result.Logits, Tolerance, log);
            Golden.AssertClose("loss", golden["loss"], loss.reshape(1), Tolerance, log);
            Golden.AssertClose("mtp_loss", golden["mtp_loss"], (result.MtpLoss / mtpWeight).reshape(1), Tolerance, log);
            Golden.AssertClose("balance_loss", golden["balance_loss"], (result.BalanceLoss / balanceWeight).reshape(1), Tolerance, log);
            using var total = loss + result.MtpLoss + result.BalanceLoss;
            total.backward();
            var parameters = model.named_parameters().ToList();
            Assert.Equal(golden.Keys.Count(k => k.StartsWith("grad.", StringComparison.Ordinal)), parameters.Count);
            foreach (var (name, p) in parameters)
            {
                using var grad = p.grad is null ? zeros_like(p) : p.grad.alias(); // an expert no token chose has no gradient
                Golden.AssertClose($"grad.{name}", golden[$"grad.{name}"], grad, Tolerance, log);
            }
        }
        finally
        {
            foreach (var line in log) output.WriteLine(line);
        }
    }
}
