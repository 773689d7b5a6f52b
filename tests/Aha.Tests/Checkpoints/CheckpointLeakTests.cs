using Aha.Tokenizer;
using Aha.Checkpoints;
using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Checkpoints;

/// <summary>Runs alone: the live-tensor count is process-wide, so parallel tests would disturb it.</summary>
[CollectionDefinition(nameof(CheckpointLeakTests), DisableParallelization = true)]
[Collection(nameof(CheckpointLeakTests))]
public class CheckpointLeakTests
{
    [Fact]
    public void Saving_and_loading_checkpoints_leaves_the_live_tensor_count_flat()
    {
        using var run = new TempDirectory();
        using var net = new TinyNet(tie: true);
        var config = new ModelConfig { HiddenSize = 8, NumAttentionHeads = 2, NumKeyValueHeads = 2 };
        Checkpoint.Save(run.Path, Checkpoint.StepName(0), net, config, ByteTokenizer.Default);
        LiveTensors.Settle();
        long before = Tensor.TotalCount;
        for (int step = 1; step <= 3; step++)
        {
            Checkpoint.Save(run.Path, Checkpoint.StepName(step), net, config, ByteTokenizer.Default, options: new CheckpointOptions { KeepLast = 1 });
            Checkpoint.LoadLatest(run.Path).LoadModel(net);
        }
        Assert.Equal(before, Tensor.TotalCount);
    }
}
