package org.ovseg.api;

/**
 * An axis-aligned pixel box, COCO style: the top-left pixel and the extent in pixels.
 *
 * @param x leftmost column
 * @param y top row
 * @param width columns covered
 * @param height rows covered
 */
public record BoundingBox(int x, int y, int width, int height) {}
