/* Object bodies of real video frames. */
#include <string.h>

#include "bytes.h"
#include "video.h"

size_t fr_video_body_len(size_t framelen, int key)
{
    return FR_VIDEO_PTS_LEN + (key ? FR_VIDEO_INFO_LEN : 0) + framelen;
}

size_t fr_video_body_write(uint8_t *out, uint64_t pts,
                           const frt_ivf_header *info, const uint8_t *frame,
                           size_t framelen, int key)
{
    uint8_t *p = out;

    frt_store_le64(p, pts);
    p += 8;
    if (key) {
        frt_store_le32(p, info->fourcc);
        frt_store_le16(p + 4, info->width);
        frt_store_le16(p + 6, info->height);
        frt_store_le32(p + 8, info->tb_den);
        frt_store_le32(p + 12, info->tb_num);
        p += FR_VIDEO_INFO_LEN;
    }
    if (framelen)
        memcpy(p, frame, framelen);
    return (size_t)(p - out) + framelen;
}

int fr_video_body_read(const uint8_t *body, size_t len, int key,
                       uint64_t *pts, frt_ivf_header *info,
                       const uint8_t **frame, size_t *framelen)
{
    size_t head = fr_video_body_len(0, key);

    if (len < head)
        return -1;
    *pts = frt_load_le64(body);
    if (key) {
        const uint8_t *p = body + 8;
        memset(info, 0, sizeof(*info));
        info->fourcc = frt_load_le32(p);
        info->width = frt_load_le16(p + 4);
        info->height = frt_load_le16(p + 6);
        info->tb_den = frt_load_le32(p + 8);
        info->tb_num = frt_load_le32(p + 12);
    }
    *frame = body + head;
    *framelen = len - head;
    return 0;
}
