"""tools/data/check_videos.py and cakes_mm.datasets.video_check: videos
decord cannot open or decode."""

import os.path as osp

from tool_helpers import run_tool, write_lines, write_video_dataset

from cakes_mm.datasets.video_check import frames_to_decode, unreadable_videos


def broken_videos(tmp_path):
    """An annotation file of a good, a truncated, an empty and a missing
    video, and their folder."""
    ann = write_video_dataset(str(tmp_path), [0, 1, 2])
    videos = tmp_path / 'videos'
    data = (videos / 'vid1.mp4').read_bytes()
    (videos / 'vid1.mp4').write_bytes(data[: len(data) // 2])
    (videos / 'vid2.mp4').write_bytes(b'')
    write_lines(ann, ['vid0.mp4 0', 'vid1.mp4 1', 'vid2.mp4 2', 'gone.mp4 0'])
    return ann, videos


def test_unreadable_videos_are_listed_with_reasons(tmp_path):
    _, videos = broken_videos(tmp_path)
    names = ('vid0.mp4', 'vid1.mp4', 'vid2.mp4', 'gone.mp4')
    paths = [str(videos / name) for name in names]
    rows = dict(unreadable_videos(paths, all_frames=True))
    assert sorted(rows) == sorted(paths[1:])
    assert rows[paths[3]] == 'file not found'
    assert rows[paths[1]].startswith('cannot open: ')


def test_readable_videos_pass_in_parallel(tmp_path):
    write_video_dataset(str(tmp_path), [0, 1])
    paths = [str(tmp_path / 'videos' / f'vid{i}.mp4') for i in range(2)]
    assert unreadable_videos(paths, num_workers=2) == []


def test_frames_to_decode():
    assert frames_to_decode(1, False) == [0]
    assert frames_to_decode(9, False) == [0, 4, 8]
    assert frames_to_decode(3, True) == [0, 1, 2]


def test_the_tool_prints_each_failure_and_exits_1(tmp_path):
    ann, videos = broken_videos(tmp_path)
    result = run_tool(
        ['data/check_videos.py', ann, str(videos), '--all-frames'],
        str(tmp_path),
    )
    assert result.returncode == 1, result.stderr[-3000:]
    rows = dict(line.split(': ', 1) for line in result.stdout.splitlines())
    assert sorted(rows) == [
        osp.join(videos, name) for name in ('gone.mp4', 'vid1.mp4', 'vid2.mp4')
    ]
    assert rows[osp.join(videos, 'gone.mp4')] == 'file not found'
    assert '3 of 4 videos cannot be read by decord' in result.stderr
    absent = run_tool(
        ['data/check_videos.py', str(tmp_path / 'absent.txt'), '.'],
        str(tmp_path),
    )
    assert absent.returncode == 1
    assert 'absent.txt: annotation file not found' in absent.stderr
