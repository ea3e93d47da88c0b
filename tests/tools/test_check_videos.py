"""tools/data/check_videos.py: videos decord cannot open or decode."""

import os.path as osp

from tool_helpers import load_tool, write_lines, write_video_dataset

check_videos = load_tool('data/check_videos.py')


def test_unreadable_videos_are_listed_with_reasons(tmp_path, capsys):
    ann = write_video_dataset(str(tmp_path), [0, 1, 2])
    videos = tmp_path / 'videos'
    data = (videos / 'vid1.mp4').read_bytes()
    (videos / 'vid1.mp4').write_bytes(data[: len(data) // 2])
    (videos / 'vid2.mp4').write_bytes(b'')
    write_lines(ann, ['vid0.mp4 0', 'vid1.mp4 1', 'vid2.mp4 2', 'gone.mp4 0'])
    assert check_videos.main([ann, str(videos), '--all-frames']) == 1
    out, err = capsys.readouterr()
    rows = dict(line.split(': ', 1) for line in out.splitlines())
    assert sorted(rows) == [
        osp.join(videos, name) for name in ('gone.mp4', 'vid1.mp4', 'vid2.mp4')
    ]
    assert rows[osp.join(videos, 'gone.mp4')] == 'file not found'
    assert rows[osp.join(videos, 'vid1.mp4')].startswith('cannot open: ')
    assert '3 of 4 videos cannot be read by decord' in err


def test_readable_videos_pass_in_parallel(tmp_path, capsys):
    ann = write_video_dataset(str(tmp_path), [0, 1])
    assert (
        check_videos.main(
            [ann, str(tmp_path / 'videos'), '--num-workers', '2']
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert out == '' and '0 of 2 videos' in err


def test_frames_to_decode():
    assert check_videos.frames_to_decode(1, False) == [0]
    assert check_videos.frames_to_decode(9, False) == [0, 4, 8]
    assert check_videos.frames_to_decode(3, True) == [0, 1, 2]


def test_bad_annotation_is_named(tmp_path, capsys):
    assert check_videos.main([str(tmp_path / 'absent.txt'), '.']) == 1
    assert 'absent.txt: annotation file not found' in capsys.readouterr().err
