using Aha.Model;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>Tensor-by-tensor parity with tests/reference/llama_reference.py through the committed golden files.</summary>
public class LlamaModelParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-5;

    [Theory]
    [InlineData("untied_bias")]
    [InlineData("tied")]
    [InlineData("tied_left_padded")]
    public void Logits_loss_and_every_gradient_match_the_pytorch_reference(string name)
    {
        var (golden, metadata) = Golden.Read(Golden.PathOf(name));
        var config = ModelConfig.FromJson(metadata["config"], $"{name}.safetensors metadata");
        using var model = TinyModels.WithFormulaWeights(config);
        var ids = golden["input_ids"];      // (B, T)
        var mask = golden["attention_mask"]; // (B, T)
        Tensor? attentionMask = mask.min().item<long>() == 0 ? mask : null; // unpadded cases take the SDPA causal path
        var log = new List<string>();
        try
        {
            using (no_grad())
            using (var logits = model.forward(ids, attentionMask: attentionMask)) // (B, T, V)
            using (var realOnly = logits * mask.unsqueeze(-1))               // pad positions' outputs are unspecified
                Golden.AssertClose("logits", golden["logits"], realOnly, Tolerance, log);

            // The loss goes through the trainers' helper, so its log-probs and gradients are checked too.
            using var logProbs = TokenLogProbs.Compute(model, ids, attentionMask); // (B, T−1)
            using var pairs = mask.narrow(1, 0, mask.shape[1] - 1) * mask.narrow(1, 1, mask.shape[1] - 1);
            using var loss = -(logProbs * pairs).sum() / pairs.sum();
            loss.backward();
            Golden.AssertClose("loss", golden["loss"], loss.reshape(1), Tolerance, log);

            var parameters = model.named_parameters().ToList();
            Assert.Equal(golden.Keys.Count(k => k.StartsWith("grad.", StringComparison.Ordinal)), parameters.Count);
            foreach (var (parameter, p) in parameters)
                Golden.AssertClose($"grad.{parameter}", golden[$"grad.{parameter}"], p.grad!, Tolerance, log);
        }
        finally
        {
            foreach (var line in log) output.WriteLine(line);
        }
    }
}
