using Aha.Checkpoints;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>
/// A PEFT-format adapter on the committed qwen2 checkpoint against tests/reference/lora_reference.py, which applies it
/// from PEFT's definition in plain PyTorch: base + adapter logits, and the merged model's.
/// </summary>
public class LoraParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;
    static string Folder => Path.Combine(AppContext.BaseDirectory, "Model", "golden", "lora");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Base_plus_a_peft_adapter_matches_the_pytorch_reference(bool merged)
    {
        using var temp = new TempDirectory();
        using var model = ModelLoader.Load(FamilyGolden.Open("qwen2", temp));
        var adapter = AdapterCheckpoint.Open(Folder);
        Assert.Equal(["q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"], adapter.Config.Targets);
        adapter.AttachTo(model);
        if (merged) model.MergeLora();
        var (golden, _) = Golden.Read(Path.Combine(Folder, "expected.safetensors"));
        var log = new List<string>();
        try
        {
            using var noGrad = no_grad();
            for (int i = 0; golden.ContainsKey($"prompt.{i}"); i++)
            {
                using var logits = model.forward(golden[$"prompt.{i}"].unsqueeze(0)).squeeze(0); // (T, V)
                Golden.AssertClose($"lora{(merged ? " merged" : "")} logits.{i}", golden[$"logits.{i}"], logits, Tolerance, log);
            }
        }
        finally
        {
            foreach (var line in log) output.WriteLine(line);
        }
    }
}
