using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Tests.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Checkpoints;

/// <summary>Checkpoint.Validate on the folders Aha reads (BF16, sharded, as the Hub ships them) and writes (BF16 with float32 masters).</summary>
public class FamilyValidationTests
{
    [Theory]
    [MemberData(nameof(FamilyGolden.Families), MemberType = typeof(FamilyGolden))]
    public void A_sharded_bf16_download_validates(string family)
    {
        using var temp = new TempDirectory();
        Assert.Null(Checkpoint.Validate(FamilyGolden.CopyWithTokenizer(family, temp)));
    }

    [Fact]
    public void A_shard_whose_dtype_differs_from_torch_dtype_is_named()
    {
        using var temp = new TempDirectory();
        string folder = FamilyGolden.CopyWithTokenizer("qwen3", temp);
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, WeightFiles.IndexFile)))!["weight_map"]!.AsObject();
        string shard = index.Select(p => p.Value!.GetValue<string>()).Distinct().Order().Last();
        var tensors = SafeTensors.Load(Path.Combine(folder, shard));
        string name = tensors.Keys.Order().First();
        tensors[name] = tensors[name].to(float32);
        SafeTensors.Save(Path.Combine(folder, shard), tensors, SafeTensors.PyTorchMetadata);
        Assert.Equal($"{Path.Combine(folder, shard)}: tensor '{name}' is F32, but config.json says torch_dtype bfloat16 (BF16)", Checkpoint.Validate(folder));
    }

    [Fact]
    public void A_bf16_training_checkpoint_with_masters_validates_and_a_misshapen_master_is_named()
    {
        using var temp = new TempDirectory();
        var source = FamilyGolden.Open("qwen2", temp);
        using var model = ModelLoader.Load(source); // float32 in memory, BF16 on disk
        var optimizer = new Dictionary<string, Tensor>();
        foreach (var (name, p) in model.named_parameters())
        {
            optimizer[$"{name}.exp_avg"] = zeros_like(p);
            optimizer[$"{name}.exp_avg_sq"] = zeros_like(p);
            optimizer[$"{name}.step"] = tensor(1L);
        }
        string saved = Checkpoint.Save(temp["run"], "step-000001", model, source.Config, source.Tokenizer,
            new Aha.Checkpoints.TrainingState { Step = 1, Trainer = "sft" }, optimizer);
        Assert.Null(Checkpoint.Validate(saved));
        var header = SafeTensors.ReadHeader(Path.Combine(saved, Checkpoint.OptimizerFile));
        Assert.Equal(model.state_dict().Count, header.Tensors.Count(t => t.Name.StartsWith(MasterWeights.Prefix, StringComparison.Ordinal)));

        // A master that fits no weight is refused by name (after the manifest is rewritten, so the hash check passes).
        var tensors = SafeTensors.Load(Path.Combine(saved, Checkpoint.OptimizerFile));
        tensors["master.model.norm.weight"] = zeros(3);
        SafeTensors.Save(Path.Combine(saved, Checkpoint.OptimizerFile), tensors, SafeTensors.PyTorchMetadata);
        CheckpointManifest.Write(saved);
        Assert.Contains("'master.model.norm.weight' ([3]) is the master of no weight", Checkpoint.Validate(saved));
    }
}
